import assert from "node:assert/strict";
import { test } from "node:test";

import { caughtUpMessage, connectionState } from "../src/connection.js";

test("live only when the socket is open and the subscription caught up", () => {
  assert.equal(connectionState({ socket: "open", phase: "live", everConnected: true }), "live");
  assert.equal(connectionState({ socket: "open", phase: "catching-up", everConnected: true }), "catching-up");
  assert.equal(connectionState({ socket: "open", phase: "reloading", everConnected: true }), "catching-up");
  assert.equal(connectionState({ socket: "open", phase: "subscribing", everConnected: false }), "connecting");
});

test("stale data is never shown as live", () => {
  assert.equal(connectionState({ socket: "stale", phase: "live", everConnected: true }), "stale");
  assert.equal(connectionState({ socket: "down", phase: "live", everConnected: true }), "reconnecting");
  assert.equal(connectionState({ socket: "connecting", phase: "live", everConnected: true }), "reconnecting");
  assert.equal(connectionState({ socket: "down", phase: "subscribing", everConnected: false }), "connecting");
});

test("the caught-up notice says how many events after how long", () => {
  assert.equal(caughtUpMessage({ events: 14, offlineMs: 12_400 }), "Caught up 14 events after 12 s offline");
  assert.equal(caughtUpMessage({ events: 1, offlineMs: 900 }), "Caught up 1 event after 1 s offline");
  assert.match(caughtUpMessage({ events: 1500, offlineMs: 90_000, reloaded: true }), /Reloaded .* 90 s offline \(1500 events behind\)/);
});
