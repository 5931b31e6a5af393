import assert from "node:assert/strict";
import { test } from "node:test";

import { LABEL, caughtUpMessage } from "../src/connection.js";

test("the caught-up notice says how many events after how long", () => {
  assert.equal(caughtUpMessage({ events: 14, offlineMs: 12_400 }), "Caught up 14 events after 12 s offline");
  assert.equal(caughtUpMessage({ events: 1, offlineMs: 900 }), "Caught up 1 event after 1 s offline");
  assert.match(caughtUpMessage({ events: 1500, offlineMs: 90_000, reloaded: true }), /Reloaded .* 90 s offline \(1500 events behind\)/);
});

test("every badge state has a label", () => {
  for (const state of ["connecting", "live", "reconnecting", "catching-up", "stale", "offline", "ended"]) {
    assert.ok(LABEL[state], state);
  }
});
