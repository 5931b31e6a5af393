import assert from "node:assert/strict";
import { test } from "node:test";

import { differsFrom } from "../src/views/editor.js";
import { UNDO_MS, changeBody, undoOf } from "../src/writes.js";

test("a change's body: the score goes only with a mentor's completed", () => {
  assert.deepEqual(changeBody("mentor", { status: "completed", score: 80, version: 3 }), {
    status: "completed",
    score: 80,
    version: 3,
  });
  assert.deepEqual(changeBody("mentor", { status: "submitted", score: 80, version: 3 }), { status: "submitted", version: 3 });
  assert.deepEqual(changeBody("learner", { status: "completed", score: 80, version: 3 }), { status: "completed", version: 3 });
});

test("undo goes back to what the cell showed, on the version just saved", () => {
  assert.deepEqual(undoOf({ status: "not_started", score: null }, { status: "in_progress", version: 5 }), {
    status: "not_started",
    score: null,
    version: 5,
  });
  // Back to a scored completion: its score comes back too.
  assert.deepEqual(undoOf({ status: "completed", score: 92 }, { status: "in_progress", version: 8 }), {
    status: "completed",
    score: 92,
    version: 8,
  });
  // A score on anything but completed is never sent back.
  assert.deepEqual(undoOf({ status: "submitted", score: 92 }, { version: 2 }).score, null);
  assert.equal(UNDO_MS, 10_000);
});

test("restore is offered only for a version that holds another value than now", () => {
  const now = { status: "completed", score: 81, version: 4 };
  assert.equal(differsFrom({ status: "completed", score: 81, version: 2 }, now), false);
  assert.equal(differsFrom({ status: "completed", score: 70, version: 2 }, now), true);
  assert.equal(differsFrom({ status: "in_progress", score: null, version: 3 }, now), true);
  assert.equal(differsFrom({ status: "not_started", version: 1 }, { status: "not_started", score: null }), false);
});
