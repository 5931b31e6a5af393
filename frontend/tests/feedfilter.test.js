import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import {
  eventLearner,
  feedFilter,
  feedPause,
  heldCount,
  heldLabel,
  isFiltered,
  isPaused,
  kindGroup,
  matchesFilter,
  moveReader,
  receive,
  releaseHeld,
} from "../src/feedfilter.js";

const { before, events } = loadFixture();
const feed = [...before.feed, ...events];
const find = (seq) => feed.find((e) => e.seq === seq) ?? null;

const progress = (seq, learner) => ({
  seq,
  kind: "progress.updated",
  at: "2026-11-26T10:00:00Z",
  actor: null,
  data: { learner: { id: learner, name: `L${learner}` }, milestone: "python", status: "in_progress" },
});
const kudos = (seq, on) => ({ seq, kind: "kudos.added", at: "2026-11-26T10:00:00Z", actor: null, data: { event: on } });
const risk = (seq, learner) => ({ seq, kind: "learner.at_risk", at: "x", actor: null, data: { learner: { id: learner, name: "x" }, reasons: [] } });

test("events fall into progress, reactions, risk or other", () => {
  assert.equal(kindGroup(progress(1, 7)), "progress");
  assert.equal(kindGroup(kudos(2, 1)), "reactions");
  assert.equal(kindGroup({ kind: "comment.added" }), "reactions");
  assert.equal(kindGroup(risk(3, 7)), "risk");
  assert.equal(kindGroup({ kind: "learner.on_track" }), "risk");
  assert.equal(kindGroup({ kind: "report.daily" }), "other");
  assert.equal(kindGroup({ kind: "learner.added" }), "other");
});

test("a reaction is about the learner of the event it reacts to, if still in the feed", () => {
  const local = [progress(10, 7), kudos(11, 10), kudos(12, 999), kudos(13, 13)];
  const at = (seq) => local.find((e) => e.seq === seq) ?? null;
  assert.equal(eventLearner(local[0]), 7);
  assert.equal(eventLearner(local[1], at), 7);
  assert.equal(eventLearner(local[2], at), null); // its target left the feed
  assert.equal(eventLearner(local[3], at), null); // no loop on a self-reference
  assert.equal(eventLearner({ kind: "report.daily", data: {} }), null);
  // On the recorded feed: every comment on a progress event names that event's learner.
  for (const event of feed.filter((e) => e.kind === "comment.added")) {
    const target = find(event.data.event);
    if (target?.kind === "progress.updated") assert.equal(eventLearner(event, find), target.data.learner.id);
  }
});

test("the filter keeps a kind, a learner, or both", () => {
  const local = [progress(10, 7), kudos(11, 10), progress(12, 8), risk(13, 7), { seq: 14, kind: "report.daily", data: {} }];
  const at = (seq) => local.find((e) => e.seq === seq) ?? null;
  const kept = (filter) => local.filter((e) => matchesFilter(e, filter, at)).map((e) => e.seq);
  assert.deepEqual(kept(feedFilter()), [10, 11, 12, 13, 14]);
  assert.deepEqual(kept(feedFilter({ kind: "progress" })), [10, 12]);
  assert.deepEqual(kept(feedFilter({ kind: "reactions" })), [11]);
  assert.deepEqual(kept(feedFilter({ kind: "risk" })), [13]);
  assert.deepEqual(kept(feedFilter({ learner: 7 })), [10, 11, 13]);
  assert.deepEqual(kept(feedFilter({ kind: "progress", learner: 7 })), [10]);
  assert.equal(feedFilter({ kind: "nonsense" }).kind, "all");
  assert.equal(isFiltered(feedFilter()), false);
  assert.equal(isFiltered(feedFilter({ learner: 7 })), true);
});

test("the recorded feed splits into the kinds without losing an event", () => {
  const count = (kind) => feed.filter((e) => matchesFilter(e, feedFilter({ kind }), find)).length;
  const other = feed.filter((e) => kindGroup(e) === "other").length;
  assert.equal(count("progress") + count("reactions") + count("risk") + other, count("all"));
  assert.ok(count("progress") > 0 && count("reactions") > 0);
});

test("new events are held while the pointer is in the feed and shown when it leaves", () => {
  let pause = feedPause();
  let step = receive(pause, [progress(1, 7)]);
  assert.deepEqual(step.show.map((e) => e.seq), [1]); // not paused: shown at once
  pause = moveReader(step.pause, "pointer", true).pause;
  assert.equal(isPaused(pause), true);
  step = receive(pause, [progress(2, 7), progress(3, 8)]);
  assert.deepEqual(step.show, []);
  step = receive(step.pause, [kudos(4, 2)]);
  pause = step.pause;
  assert.equal(heldCount(pause, feedFilter()), 3);
  assert.equal(heldLabel(heldCount(pause, feedFilter())), "3 new");
  const left = moveReader(pause, "pointer", false);
  assert.deepEqual(left.release.map((e) => e.seq), [2, 3, 4]); // oldest first
  assert.equal(left.pause.held.length, 0);
  assert.equal(isPaused(left.pause), false);
});

test("keyboard focus holds events too; they wait until both pointer and focus leave", () => {
  let pause = moveReader(feedPause(), "focus", true).pause;
  pause = moveReader(pause, "pointer", true).pause;
  pause = receive(pause, [progress(5, 7)]).pause;
  let step = moveReader(pause, "pointer", false);
  assert.deepEqual(step.release, []); // focus is still in the feed
  assert.equal(step.pause.held.length, 1);
  step = moveReader(step.pause, "focus", false);
  assert.deepEqual(step.release.map((e) => e.seq), [5]);
});

test("activating the count shows the held events and keeps the pause", () => {
  let pause = moveReader(feedPause(), "pointer", true).pause;
  pause = receive(pause, [progress(6, 7), progress(7, 8)]).pause;
  const step = releaseHeld(pause);
  assert.deepEqual(step.release.map((e) => e.seq), [6, 7]);
  assert.equal(isPaused(step.pause), true);
  assert.equal(heldCount(step.pause, feedFilter()), 0);
  assert.equal(heldLabel(0), "");
});

test("the count is of held events the filter shows, hidden ones never counted", () => {
  let pause = moveReader(feedPause(), "pointer", true).pause;
  pause = receive(pause, [progress(8, 7), risk(9, 7), { seq: 10, kind: "hidden", data: {} }]).pause;
  assert.equal(heldCount(pause, feedFilter()), 2);
  assert.equal(heldCount(pause, feedFilter({ kind: "risk" })), 1);
  assert.equal(heldCount(pause, feedFilter({ learner: 8 })), 0);
});
