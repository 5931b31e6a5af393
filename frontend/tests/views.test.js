import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import { applyEvent, stateFromSnapshot } from "../src/state.js";
import { completionSeries } from "../src/views/charts.js";
import { statusChoices } from "../src/views/editor.js";
import { sortedIds } from "../src/views/matrix.js";
import { learnerOfEntry } from "../src/views/presence.js";

const { before } = loadFixture();

test("learners are offered only their allowed moves; mentors every status", () => {
  assert.deepEqual(statusChoices("learner", "not_started"), ["not_started", "in_progress"]);
  assert.deepEqual(statusChoices("learner", "in_progress"), ["in_progress", "submitted"]);
  assert.deepEqual(statusChoices("learner", "submitted"), ["submitted", "in_progress"]);
  assert.deepEqual(statusChoices("learner", "completed"), ["completed"]);
  assert.deepEqual(statusChoices("mentor", "submitted"), ["not_started", "in_progress", "submitted", "completed"]);
});

test("the matrix sorts by name and by completion, both ways", () => {
  const state = stateFromSnapshot(before);
  const names = (ids) => ids.map((id) => state.learners[id].name);
  const asc = names(sortedIds(state, "name", "asc"));
  assert.deepEqual(asc, [...asc].sort((a, b) => a.localeCompare(b)));
  assert.deepEqual(names(sortedIds(state, "name", "desc")), [...asc].reverse());
  const done = (id) => state.milestones.filter((m) => state.learners[id].progress[m.slug].status === "completed").length;
  const byCompletion = sortedIds(state, "completion", "desc").map(done);
  assert.deepEqual(byCompletion, [...byCompletion].sort((a, b) => b - a));
  const up = sortedIds(state, "completion", "asc").map(done);
  assert.deepEqual(up, [...up].sort((a, b) => a - b));
});

test("completion over time rises to today's completion", () => {
  const state = stateFromSnapshot(before);
  const points = completionSeries(state, Date.parse(before.generated_at));
  assert.equal(points[0][1], 0);
  for (let i = 1; i < points.length; i += 1) {
    assert.ok(points[i][0] >= points[i - 1][0]);
    assert.ok(points[i][1] >= points[i - 1][1]);
  }
  assert.ok(Math.abs(points.at(-1)[1] - before.stats.completion) < 1e-4);
});

test("presence finds a learner by user id, or by name when added live without one", () => {
  const state = stateFromSnapshot(before);
  const known = state.learners[state.order[0]];
  const entry = (id, name, role = "learner") => ({ user: { id, name }, role, since: "x" });
  assert.equal(learnerOfEntry(state, entry(known.user, "whatever")), known);
  const added = applyEvent(state, {
    seq: state.seq + 1,
    kind: "learner.added",
    at: before.generated_at,
    actor: null,
    data: { learner: { id: 99999, name: "New Person" }, progress: {} },
  }).state;
  assert.equal(learnerOfEntry(added, entry(424242, "New Person")).id, 99999);
  assert.equal(learnerOfEntry(added, entry(424242, "New Person", "mentor")), null);
  assert.equal(learnerOfEntry(added, entry(424243, "Nobody")), null);
});
