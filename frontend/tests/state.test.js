import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

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

const fixture = loadFixture();
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

// ---- privacy by role: a learner's view (product.md) ----------------------------------

/** Return a snapshot or event as a learner other than `own` gets it from the server. */
function redactedSnapshot(snapshot, own) {
  return {
    ...snapshot,
    learners: snapshot.learners.map((l) =>
      l.id === own
        ? l
        : {
            ...l,
            at_risk: null,
            risk_reasons: [],
            progress: Object.fromEntries(Object.entries(l.progress).map(([s, c]) => [s, { ...c, score: null }])),
          },
    ),
  };
}

function redactedEvent(event, own) {
  const d = event.data ?? {};
  if (event.kind === "progress.updated" && d.learner?.id !== own) return { ...event, data: { ...d, score: null } };
  return event;
}

test("a learner's view: peers' risk is never shown, yet the cohort's counts stay right", () => {
  const own = before.learners[0].id;
  const hiddenEvent = { seq: after.seq + 1, kind: "hidden", at: after.generated_at, actor: null, data: {} };
  const start = stateFromSnapshot(redactedSnapshot(before, own));
  const peers = start.order.filter((id) => id !== own);
  assert.ok(peers.every((id) => start.learners[id].risk_hidden));
  assert.equal(start.learners[own].risk_hidden, false);
  const stream = [...events.map((e) => redactedEvent(e, own)), hiddenEvent];
  const result = applyEvents(start, stream);
  assert.equal(result.gap, false);
  assert.equal(result.state.seq, hiddenEvent.seq); // the placeholder advances the seq
  const state = judgedAt(result.state, after.generated_at);
  assert.equal(state.stats.at_risk, after.stats.at_risk);
  assert.equal(state.stats.on_track, after.stats.on_track);
  // Every peer, the one who joined live included, stays hidden; scores stay null.
  for (const id of state.order.filter((i) => i !== own)) {
    assert.equal(state.learners[id].risk_hidden, true, id);
    for (const cell of Object.values(state.learners[id].progress)) assert.equal(cell.score, null);
  }
});
