import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  FEED_SIZE,
  applyEvent,
  applyEvents,
  applyPresence,
  completionOf,
  presenceFromList,
  refreshRisk,
  stateFromSnapshot,
} from "../src/state.js";

const fixture = JSON.parse(readFileSync(new URL("./fixtures/cohort.json", import.meta.url), "utf8"));
const { before, events, after } = fixture;

/** The parts of a state a fresh snapshot must reproduce. */
function view(state) {
  return {
    cohort: state.cohort,
    milestones: state.milestones,
    seq: state.seq,
    learners: state.order.map((id) => {
      const l = state.learners[id];
      return { id: l.id, name: l.name, progress: l.progress, at_risk: l.at_risk, risk_reasons: l.risk_reasons };
    }),
    stats: state.stats,
    feed: state.feed.map(({ seq, kind, at, actor, data, kudos, comments }) => ({
      seq,
      kind,
      at,
      actor,
      data,
      kudos,
      comments,
    })),
  };
}

function judgedAt(state, iso) {
  return refreshRisk(state, Date.parse(iso)).state;
}

const fresh = () => view(stateFromSnapshot(after));

test("fixture covers every event kind, an unknown kind and hostile text", () => {
  const kinds = new Set(events.map((e) => e.kind));
  for (const kind of ["progress.updated", "kudos.added", "comment.added", "learner.added", "cohort.updated", "report.daily"]) {
    assert.ok(kinds.has(kind), kind);
  }
  assert.equal(events[0].seq, before.seq + 1);
  assert.equal(events.at(-1).seq, after.seq);
});

test("snapshot + events = fresh snapshot", () => {
  const result = applyEvents(stateFromSnapshot(before), events);
  assert.equal(result.applied, events.length);
  assert.equal(result.gap, false);
  assert.deepEqual(view(judgedAt(result.state, after.generated_at)), fresh());
});

test("snapshot + events one by one (as event frames) = fresh snapshot", () => {
  let state = stateFromSnapshot(before);
  for (const event of events) {
    const result = applyEvent(state, event);
    assert.equal(result.outcome, "applied");
    state = result.state;
  }
  assert.deepEqual(view(judgedAt(state, after.generated_at)), fresh());
});

test("live events (zero counts at commit) reach the same counts as the fresh snapshot", () => {
  // Live frames are serialised at commit time: no kudos or comments yet.
  const live = events.map((e) => ({ ...e, kudos: 0, comments: 0 }));
  const state = applyEvents(stateFromSnapshot(before), live).state;
  assert.deepEqual(view(judgedAt(state, after.generated_at)), fresh());
});

test("duplicates are dropped and leave the state untouched", () => {
  const start = stateFromSnapshot(before);
  const once = applyEvent(start, events[0]).state;
  const again = applyEvent(once, events[0]);
  assert.equal(again.outcome, "duplicate");
  assert.equal(again.state, once);
  const old = applyEvent(once, { ...events[0], seq: before.seq });
  assert.equal(old.outcome, "duplicate");
  assert.equal(old.state, once);
});

test("a gap is detected and not applied", () => {
  const start = stateFromSnapshot(before);
  const result = applyEvent(start, events[2]);
  assert.equal(result.outcome, "gap");
  assert.equal(result.state, start);
  assert.equal(result.state.seq, before.seq);
});

test("applyEvents stops at the first gap and keeps what came before it", () => {
  const start = stateFromSnapshot(before);
  const result = applyEvents(start, [events[0], events[1], events[3], events[4]]);
  assert.equal(result.gap, true);
  assert.equal(result.applied, 2);
  assert.equal(result.state.seq, events[1].seq);
});

test("out-of-order, duplicated delivery with resubscribe-on-gap converges to the fresh snapshot", () => {
  // A deterministic shuffle: deliver in a scrambled order with repeats; on every gap
  // the client resubscribes with since = state.seq and the server replays after it.
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const deliveries = [];
  for (const event of events) {
    deliveries.push(event);
    if (random() < 0.3) deliveries.push(event);
  }
  for (let i = deliveries.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    if (Math.abs(i - j) < 4) [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
  }
  let state = stateFromSnapshot(before);
  let gaps = 0;
  let duplicates = 0;
  for (const event of deliveries) {
    const result = applyEvent(state, event);
    if (result.outcome === "duplicate") duplicates += 1;
    if (result.outcome === "gap") {
      gaps += 1;
      const replay = events.filter((e) => e.seq > state.seq);
      state = applyEvents(state, replay).state;
    } else {
      state = result.state;
    }
  }
  assert.ok(gaps > 0, "the shuffle produced a gap");
  assert.ok(duplicates > 0, "the shuffle produced duplicates");
  assert.deepEqual(view(judgedAt(state, after.generated_at)), fresh());
});

test("unknown kinds advance the seq and join the feed", () => {
  const start = stateFromSnapshot(before);
  const event = { seq: before.seq + 1, kind: "report.daily", at: "2026-11-26T10:00:00.000Z", actor: null, data: {} };
  const result = applyEvent(start, event);
  assert.equal(result.outcome, "applied");
  assert.equal(result.state.seq, before.seq + 1);
  assert.equal(result.state.feed[0].kind, "report.daily");
  assert.deepEqual(result.state.learners, start.learners);
  assert.deepEqual(result.changes.cells, []);
});

test("an invalid event is refused without touching the state", () => {
  const start = stateFromSnapshot(before);
  for (const bad of [null, "x", {}, { seq: "5" }, { seq: 1.5 }]) {
    const result = applyEvent(start, bad);
    assert.equal(result.outcome, "invalid");
    assert.equal(result.state, start);
  }
});

test("applyEvent does not mutate its input state", () => {
  const start = stateFromSnapshot(before);
  const copy = structuredClone(start);
  applyEvents(start, events);
  assert.deepEqual(start, copy);
});

test("progress.updated changes one cell and reports only that cell", () => {
  const start = stateFromSnapshot(before);
  const event = events.find((e) => e.kind === "progress.updated");
  const at = events.indexOf(event);
  const state = applyEvents(start, events.slice(0, at)).state;
  const result = applyEvent(state, event);
  const { learner, milestone, status, score, version } = event.data;
  assert.deepEqual(result.changes.cells, [[learner.id, milestone]]);
  assert.deepEqual(result.state.learners[learner.id].progress[milestone], {
    status,
    score,
    version,
    updated_at: event.at,
  });
  const others = Object.keys(start.learners).filter((id) => Number(id) !== learner.id);
  for (const id of others) assert.equal(result.state.learners[id], state.learners[id]);
});

test("a learner whose name is markup is kept as plain text", () => {
  const state = applyEvents(stateFromSnapshot(before), events).state;
  const names = Object.values(state.learners).map((l) => l.name);
  assert.ok(names.some((n) => n.includes("<img src=x onerror=")));
});

test("the feed keeps the newest 50, newest first", () => {
  let state = stateFromSnapshot(before);
  for (let i = 1; i <= 60; i += 1) {
    state = applyEvent(state, { seq: before.seq + i, kind: "x.y", at: "2026-11-26T10:00:00.000Z", actor: null, data: {} }).state;
  }
  assert.equal(state.feed.length, FEED_SIZE);
  assert.equal(state.feed[0].seq, before.seq + 60);
  assert.equal(Object.keys(state.tally).length, FEED_SIZE);
});

test("completion is completed cells over all cells", () => {
  assert.equal(completionOf({ a: { completed: 1, submitted: 1, in_progress: 1, not_started: 1 } }), 0.25);
  assert.equal(completionOf({}), 0);
  assert.ok(Math.abs(completionOf(before.stats.by_milestone) - before.stats.completion) < 1e-9);
});

test("presence keeps one entry per person and applies joins and leaves", () => {
  const a1 = { user: { id: 1, name: "A" }, role: "mentor", since: "2026-11-26T10:00:00.000Z" };
  const a2 = { user: { id: 1, name: "A" }, role: "mentor", since: "2026-11-26T09:00:00.000Z" };
  const b = { user: { id: 2, name: "B" }, role: "learner", since: "2026-11-26T10:01:00.000Z" };
  const list = presenceFromList([a1, b, a2]);
  assert.deepEqual(list.map((e) => e.user.id), [1, 2]);
  assert.equal(list[0].since, a2.since);
  assert.deepEqual(applyPresence(list, [], [b]).map((e) => e.user.id), [1]);
  assert.deepEqual(applyPresence(list, [b], []).map((e) => e.user.id), [1, 2]);
});

// --------------------------------------------------------------------------------------
// Privacy by role: a learner's snapshot has peers with at_risk null
// --------------------------------------------------------------------------------------

/** Return `snapshot` as a learner (the first learner) receives it from the server. */
function asLearner(snapshot) {
  const [own, ...peers] = snapshot.learners;
  return {
    ...snapshot,
    learners: [
      own,
      ...peers.map((l) => ({
        ...l,
        at_risk: null,
        risk_reasons: [],
        progress: Object.fromEntries(Object.entries(l.progress).map(([slug, c]) => [slug, { ...c, score: null }])),
      })),
    ],
  };
}

test("a learner's peers stay unjudged through events and time, and the cohort count holds", () => {
  const snapshot = asLearner(before);
  const [own, peer] = snapshot.learners;
  let state = stateFromSnapshot(snapshot);
  assert.equal(state.learners[peer.id].at_risk, null);
  assert.equal(state.stats.at_risk, before.stats.at_risk);
  const slug = before.milestones[0].slug;
  const event = {
    seq: before.seq + 1,
    kind: "progress.updated",
    at: "2099-01-01T00:00:00.000Z", // far later: "no progress for 7 days" would hold for all
    actor: null,
    data: { learner: { id: peer.id, name: peer.name }, milestone: slug, status: "in_progress", previous_status: "not_started", score: null, version: 99 },
    kudos: 0,
    comments: 0,
  };
  state = applyEvent(state, event).state;
  assert.equal(state.learners[peer.id].at_risk, null);
  assert.deepEqual(state.learners[peer.id].risk_reasons, []);
  state = refreshRisk(state, Date.parse("2099-06-01T00:00:00Z")).state;
  for (const l of snapshot.learners.slice(1)) assert.equal(state.learners[l.id].at_risk, null);
  assert.equal(state.learners[own.id].at_risk, true); // their own risk is still judged
  const hidden = state.stats.at_risk - 1;
  assert.equal(hidden, stateFromSnapshot(snapshot).hiddenAtRisk);
});

test("a mentor's snapshot judges everyone", () => {
  const state = stateFromSnapshot(before);
  assert.equal(state.redacted, false);
  assert.ok(Object.values(state.learners).every((l) => typeof l.at_risk === "boolean"));
});
