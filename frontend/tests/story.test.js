import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import { utcDate } from "../src/risk.js";
import { stateFromSnapshot } from "../src/state.js";
import { mergeEvents, storyOf, subjectOf } from "../src/story.js";

const { before, events } = loadFixture();

const progress = (seq, learnerId) => ({
  seq,
  kind: "progress.updated",
  at: "2026-11-26T10:00:00Z",
  actor: null,
  data: { learner: { id: learnerId, name: "x" }, milestone: "python", status: "submitted", version: 2 },
});

test("an event is about the learner it names; a reaction about its target's learner", () => {
  const target = progress(10, 7);
  const find = (seq) => (seq === 10 ? target : null);
  assert.equal(subjectOf(target), 7);
  assert.equal(subjectOf({ seq: 11, kind: "learner.added", data: { learner: { id: 8 } } }), 8);
  assert.equal(subjectOf({ seq: 12, kind: "learner.at_risk", data: { learner: { id: 9 }, reasons: [] } }), 9);
  assert.equal(subjectOf({ seq: 13, kind: "learner.on_track", data: { learner: { id: 9 } } }), 9);
  assert.equal(subjectOf({ seq: 14, kind: "kudos.added", data: { event: 10, kudos: 1 } }, find), 7);
  assert.equal(subjectOf({ seq: 15, kind: "comment.added", data: { event: 10, text: "hi" } }, find), 7);
  // A reaction to a risk event names its learner; one to an unknown event is nobody's here.
  assert.equal(subjectOf({ seq: 16, kind: "kudos.added", data: { event: 99, private_to: 5 } }, find), 5);
  assert.equal(subjectOf({ seq: 17, kind: "kudos.added", data: { event: 99 } }, find), null);
  assert.equal(subjectOf({ seq: 18, kind: "report.daily", data: {} }), null);
  assert.equal(subjectOf({ seq: 19, kind: "hidden", data: {} }), null);
  assert.equal(subjectOf({ seq: 20, kind: "cohort.updated", data: { cohort: {} } }), null);
});

test("every recorded event names a learner the same way the fixture's feed does", () => {
  const all = [...before.feed, ...events];
  const find = (seq) => all.find((e) => e.seq === seq) ?? null;
  for (const event of events) {
    const about = subjectOf(event, find);
    if (["progress.updated", "learner.added"].includes(event.kind)) assert.equal(about, event.data.learner.id);
    if (event.kind === "cohort.updated" || event.kind === "report.daily") assert.equal(about, null);
  }
});

test("timeline pages and live events merge once each, newest first", () => {
  const page = [progress(9, 1), progress(5, 1), progress(3, 1)];
  const live = [progress(11, 1), progress(9, 1)];
  assert.deepEqual(
    mergeEvents(live, page).map((e) => e.seq),
    [11, 9, 5, 3],
  );
  assert.deepEqual(mergeEvents([], []), []);
});

test("a learner's story: figures, risk and milestones with due dates, as the state has them", () => {
  const state = stateFromSnapshot(before);
  const today = utcDate(Date.parse(before.generated_at));
  const id = state.order.find((i) => state.learners[i].at_risk === true);
  const story = storyOf(state, id, today);
  assert.equal(story.name, state.learners[id].name);
  assert.equal(story.total, state.milestones.length);
  assert.equal(story.done, story.milestones.filter((m) => m.status === "completed").length);
  assert.ok(Math.abs(story.completion - story.done / story.total) < 1e-9);
  assert.equal(story.risk.atRisk, true);
  assert.ok(story.risk.reasons.length > 0);
  for (const m of story.milestones) {
    assert.ok(m.due_date && m.week);
    assert.equal(m.overdue, m.due_date < today && !["submitted", "completed"].includes(m.status));
  }
  assert.equal(storyOf(state, 987654, today), null);
});

test("a peer's story on a learner's page has no risk and no score", () => {
  // The learner's view of the snapshot: peers come redacted from the server like this.
  const own = before.learners[0].id;
  const redacted = {
    ...before,
    learners: before.learners.map((l) =>
      l.id === own
        ? l
        : {
            ...l,
            at_risk: null,
            risk_reasons: [],
            progress: Object.fromEntries(Object.entries(l.progress).map(([k, c]) => [k, { ...c, score: null }])),
          },
    ),
  };
  const state = stateFromSnapshot(redacted);
  const today = utcDate(Date.parse(before.generated_at));
  const peer = storyOf(state, before.learners[1].id, today);
  assert.equal(peer.risk, null);
  assert.ok(peer.milestones.every((m) => m.score === null));
  assert.ok(peer.milestones.some((m) => m.status === "completed"));
  assert.notEqual(storyOf(state, own, today).risk, null);
});
