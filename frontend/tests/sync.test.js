import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import { CLOSE_UNAUTHENTICATED, badgeOf, initialSync, isLive, reduce } from "../src/sync.js";

const { before, events, after } = loadFixture();
const COHORT = before.cohort.id;
const TOPIC = `cohort:${COHORT}`;
const T0 = Date.parse("2026-11-26T12:00:00Z");

/** Run inputs in order; return the last sync and every effect, in order. */
function run(sync, ...inputs) {
  const effects = [];
  for (const input of inputs) {
    const result = reduce(sync, { now: T0, ...input });
    sync = result.sync;
    effects.push(...result.effects);
  }
  return { sync, effects };
}

const frame = (f, now = T0) => ({ type: "frame", frame: f, now });
const socket = (state, extra = {}) => ({ type: "socket", state, now: T0, ...extra });
const eventsFrame = (list) => frame({ type: "events", topic: TOPIC, events: list });
const eventFrame = (e) => frame({ type: "event", topic: TOPIC, event: e });
const subscribed = (extra = {}) => frame({ type: "subscribed", topic: TOPIC, presence: [], ...extra });
const sent = (effects) => effects.filter((e) => e.type === "send").map((e) => e.frame);
const kinds = (effects) => effects.map((e) => e.type);
const notices = (effects) => effects.filter((e) => e.type === "notify").map((e) => e.text);

/** A page live on `before`, as after boot. */
function livePage() {
  return run(
    initialSync({ cohortId: COHORT }),
    { type: "snapshot", snapshot: before },
    socket("open"),
    frame({ type: "welcome" }),
    subscribed({ seq: before.seq, recovered: true }),
  ).sync;
}

/** A live page whose socket dropped and came back: awaiting its `subscribed`. */
function reconnected(sync, { at = T0 - 12_000 } = {}) {
  return run(sync, { ...socket("down"), now: at }, socket("connecting"), socket("open"), frame({ type: "welcome" })).sync;
}

test("boot: connecting until the snapshot, the welcome and the subscription's head", () => {
  let { sync, effects } = run(initialSync({ cohortId: COHORT, metrics: true }), { type: "snapshot", snapshot: before });
  assert.equal(badgeOf(sync), "connecting");
  assert.deepEqual(kinds(effects), ["renderAll"]); // socket not open yet: no subscribe
  ({ sync, effects } = run(sync, socket("open"), frame({ type: "welcome" })));
  assert.deepEqual(sent(effects), [
    { type: "subscribe", topic: TOPIC, since: before.seq, ref: `sub:${TOPIC}` },
    { type: "subscribe", topic: "metrics:cache", ref: "sub:metrics" },
  ]);
  assert.equal(sync.awaitingSubscribed, true);
  assert.equal(badgeOf(sync), "connecting");
  ({ sync, effects } = run(sync, subscribed({ seq: before.seq, recovered: true })));
  assert.equal(badgeOf(sync), "live");
  assert.equal(isLive(sync), true);
  assert.deepEqual(notices(effects), []); // never offline: no caught-up notice
});

test("a snapshot that arrives after the welcome subscribes at once", () => {
  const { sync, effects } = run(initialSync({ cohortId: COHORT }), socket("open"), frame({ type: "welcome" }), {
    type: "snapshot",
    snapshot: before,
  });
  assert.equal(sent(effects).length, 1);
  assert.equal(sent(effects)[0].since, before.seq);
  assert.equal(sync.phase, "catching-up");
});

test("live events are applied and rendered with their latency counted", () => {
  const { sync, effects } = run(livePage(), eventFrame(events[0]));
  assert.equal(sync.state.seq, events[0].seq);
  const render = effects.find((e) => e.type === "render");
  assert.deepEqual(render.live.map((e) => e.seq), [events[0].seq]);
});

test("reconnect: catching up, then live with the caught-up notice", () => {
  let sync = reconnected(livePage());
  assert.equal(badgeOf(sync), "catching-up");
  assert.equal(isLive(sync), false);
  let effects;
  ({ sync, effects } = run(sync, subscribed({ seq: before.seq + 3, recovered: true })));
  assert.equal(badgeOf(sync), "catching-up");
  ({ sync, effects } = run(sync, eventsFrame(events.slice(0, 3))));
  assert.equal(badgeOf(sync), "live");
  assert.deepEqual(notices(effects), ["Caught up 3 events after 12 s offline"]);
  // Replayed events are old by design: not counted as live latency.
  assert.deepEqual(effects.find((e) => e.type === "render").live, []);
});

test("a duplicate after reconnect is dropped without a render", () => {
  let { sync } = run(livePage(), eventsFrame(events.slice(0, 2)));
  sync = reconnected(sync);
  let effects;
  ({ sync, effects } = run(sync, subscribed({ seq: events[1].seq, recovered: true })));
  assert.equal(badgeOf(sync), "live");
  const seq = sync.state.seq;
  ({ sync, effects } = run(sync, eventsFrame(events.slice(0, 2))));
  assert.equal(sync.state.seq, seq);
  assert.deepEqual(kinds(effects), []);
});

test("a gap while live resubscribes once from the last applied seq", () => {
  let { sync, effects } = run(livePage(), eventFrame(events[1]));
  assert.equal(sync.state.seq, before.seq);
  assert.deepEqual(sent(effects), [
    { type: "unsubscribe", topic: TOPIC },
    { type: "subscribe", topic: TOPIC, since: before.seq, ref: `sub:${TOPIC}` },
  ]);
  assert.equal(badgeOf(sync), "catching-up");
  ({ sync, effects } = run(sync, eventFrame(events[2])));
  assert.deepEqual(sent(effects), []); // the resubscribe is already on its way
});

test("a gap during catch-up resubscribes and the replay then completes it", () => {
  let sync = reconnected(livePage());
  let effects;
  ({ sync, effects } = run(sync, subscribed({ seq: events[4].seq, recovered: true })));
  // The replay's first frame is fine, then one event is lost on the way.
  ({ sync, effects } = run(sync, eventsFrame(events.slice(0, 2)), eventsFrame(events.slice(3, 5))));
  assert.equal(sync.state.seq, events[1].seq);
  assert.deepEqual(sent(effects).at(-1), { type: "subscribe", topic: TOPIC, since: events[1].seq, ref: `sub:${TOPIC}` });
  ({ sync, effects } = run(sync, subscribed({ seq: events[4].seq, recovered: true }), eventsFrame(events.slice(2, 5))));
  assert.equal(sync.state.seq, events[4].seq);
  assert.equal(badgeOf(sync), "live");
  assert.deepEqual(notices(effects), ["Caught up 5 events after 12 s offline"]);
});

test("a reconnect during catch-up keeps the offline time and the count", () => {
  let sync = reconnected(livePage(), { at: T0 - 30_000 });
  ({ sync } = run(sync, subscribed({ seq: events[3].seq, recovered: true }), eventsFrame(events.slice(0, 2))));
  sync = run(sync, socket("down"), socket("connecting"), socket("open"), frame({ type: "welcome" })).sync;
  assert.equal(badgeOf(sync), "catching-up");
  const { sync: done, effects } = run(sync, subscribed({ seq: events[3].seq, recovered: true }), eventsFrame(events.slice(2, 4)));
  assert.equal(badgeOf(done), "live");
  assert.deepEqual(notices(effects), ["Caught up 4 events after 30 s offline"]);
});

test("recovered: false reloads the snapshot; frames meanwhile are buffered and applied on top", () => {
  let sync = reconnected(livePage(), { at: T0 - 90_000 });
  let effects;
  ({ sync, effects } = run(sync, subscribed({ seq: after.seq, recovered: false })));
  assert.ok(kinds(effects).includes("reloadSnapshot"));
  assert.equal(badgeOf(sync), "catching-up");
  // A live event races the reload: it is newer than the snapshot the reload gets.
  const mid = { ...before, seq: events[1].seq };
  ({ sync, effects } = run(sync, eventsFrame(events.slice(0, 3))));
  assert.equal(sync.buffered.length, 3);
  assert.deepEqual(kinds(effects), []);
  ({ sync, effects } = run(sync, { type: "snapshot", snapshot: mid }));
  // events[0..1] are in the snapshot (duplicates); events[2] is applied on top of it.
  assert.equal(sync.state.seq, events[2].seq);
  assert.equal(badgeOf(sync), "live");
  assert.match(notices(effects)[0], /Reloaded the cohort after 90 s offline \(2 events behind\)/);
});

test("a reload racing a live event that skips ahead resubscribes instead of applying it", () => {
  let sync = reconnected(livePage());
  ({ sync } = run(sync, subscribed({ recovered: false }), eventFrame(events[4])));
  const { sync: after2, effects } = run(sync, { type: "snapshot", snapshot: before });
  assert.equal(after2.state.seq, before.seq);
  assert.equal(sent(effects).at(-1).since, before.seq);
  assert.equal(badgeOf(after2), "catching-up");
});

test("a failed reload drops the socket to try again after backoff", () => {
  let sync = reconnected(livePage());
  ({ sync } = run(sync, subscribed({ recovered: false })));
  const { sync: next, effects } = run(sync, { type: "snapshotFailed", status: 0 });
  assert.deepEqual(kinds(effects), ["dropSocket"]);
  assert.equal(next.phase, "subscribing");
});

test("close 4401 ends the session: the socket stops and nothing more is applied", () => {
  let { sync, effects } = run(livePage(), socket("down", { code: CLOSE_UNAUTHENTICATED }));
  assert.equal(badgeOf(sync), "ended");
  assert.deepEqual(kinds(effects), ["stopSocket", "sessionEnded"]);
  assert.equal(effects[1].reason, "expired");
  ({ sync, effects } = run(sync, socket("connecting"), eventFrame(events[0])));
  assert.deepEqual(effects, []);
  assert.equal(sync.state.seq, before.seq);
});

test("a REST 401 on reload, or a logout in another tab, ends the session", () => {
  let sync = reconnected(livePage());
  ({ sync } = run(sync, subscribed({ recovered: false })));
  assert.equal(run(sync, { type: "snapshotFailed", status: 401 }).sync.ended, "expired");
  const out = run(livePage(), { type: "sessionEnded", reason: "logged-out" });
  assert.equal(out.sync.ended, "logged-out");
  assert.equal(isLive(out.sync), false);
});

test("not live whenever the socket is down, stale or offline", () => {
  let sync = livePage();
  assert.equal(badgeOf(run(sync, socket("stale")).sync), "stale");
  sync = run(sync, { type: "network", online: false }, socket("down")).sync;
  assert.equal(badgeOf(sync), "offline");
  const back = run(sync, { type: "network", online: true });
  assert.deepEqual(kinds(back.effects), ["reconnect"]);
  assert.equal(badgeOf(back.sync), "reconnecting");
});

test("presence frames update the state's presence and ask for a redraw", () => {
  const join = { user: { id: 99, name: "Zed" }, since: "2026-11-26T12:00:00Z" };
  const { sync, effects } = run(livePage(), frame({ type: "presence", topic: TOPIC, joins: [join], leaves: [] }));
  assert.ok(sync.state.presence.some((e) => e.user.id === 99));
  assert.deepEqual(kinds(effects), ["presence"]);
});

test("frames for another topic are ignored; switching cohort unsubscribes the old one", () => {
  const other = run(livePage(), frame({ type: "event", topic: "cohort:999", event: events[0] }));
  assert.deepEqual(other.effects, []);
  const { sync, effects } = run(livePage(), { type: "cohort", cohortId: 999 });
  assert.deepEqual(sent(effects), [{ type: "unsubscribe", topic: TOPIC }]);
  assert.equal(sync.state, null);
});

test("a subscription the server cannot serve now is asked again through a reconnect", () => {
  for (const code of ["unavailable", "rate_limited"]) {
    const page = { ...livePage(), phase: "catching-up", awaitingSubscribed: true };
    const { sync, effects } = run(page, frame({ type: "error", ref: `sub:${TOPIC}`, code, message: "Later" }));
    assert.deepEqual(kinds(effects), ["dropSocket"]);
    assert.equal(sync.awaitingSubscribed, false);
    assert.notEqual(badgeOf(sync), "live");
  }
});

test("a refused subscription is told as a sentence", () => {
  const { effects } = run(livePage(), frame({ type: "error", ref: `sub:${TOPIC}`, code: "forbidden", message: "Not a member of this cohort" }));
  assert.deepEqual(notices(effects), ["Live updates were refused: Not a member of this cohort."]);
});

test("the reducer never mutates its input", () => {
  const sync = livePage();
  const frozen = JSON.stringify(sync);
  reduce(sync, eventsFrame(events.slice(0, 4)));
  reduce(sync, socket("down", { code: CLOSE_UNAUTHENTICATED }));
  assert.equal(JSON.stringify(sync), frozen);
});
