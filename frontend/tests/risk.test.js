import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import { DAY_MS, dueDate, learnerRisk, nextMilestone, utcDate } from "../src/risk.js";

const milestones = [
  { slug: "python", title: "Python", week: 1, due_date: "2026-10-07" },
  { slug: "django", title: "Django", week: 2, due_date: "2026-10-14" },
  { slug: "docker", title: "Docker", week: 6, due_date: "2026-11-11" },
];
const NOW = Date.parse("2026-10-15T12:00:00.000Z");
const cell = (status, updatedAt = "2026-10-15T10:00:00.000Z") => ({ status, score: null, version: 1, updated_at: updatedAt });

test("on track: every past-due milestone submitted or completed, recent progress", () => {
  const progress = { python: cell("completed"), django: cell("submitted"), docker: cell("not_started") };
  assert.deepEqual(learnerRisk(progress, milestones, NOW), []);
});

test("at risk: a milestone past its due date that is neither submitted nor completed", () => {
  const progress = { python: cell("completed"), django: cell("in_progress"), docker: cell("not_started") };
  assert.deepEqual(learnerRisk(progress, milestones, NOW), ["Django was due 2026-10-14"]);
});

test("a milestone due today is not yet late", () => {
  const progress = { python: cell("completed"), django: cell("in_progress") };
  assert.deepEqual(learnerRisk(progress, milestones, Date.parse("2026-10-14T23:59:00.000Z")), []);
});

test("at risk: more than 7 days without a progress change, and not at exactly 7", () => {
  const last = "2026-10-01T12:00:00.000Z";
  const progress = { python: cell("completed", last), django: cell("submitted", last) };
  const exactly7 = Date.parse(last) + 7 * DAY_MS;
  assert.deepEqual(learnerRisk(progress, milestones.slice(0, 2), exactly7), []);
  assert.deepEqual(learnerRisk(progress, milestones.slice(0, 2), exactly7 + 1000), ["no progress for 7 days"]);
  assert.deepEqual(learnerRisk(progress, milestones.slice(0, 2), NOW), ["no progress for 14 days"]);
});

test("both reasons are given, due dates first", () => {
  const last = "2026-10-01T12:00:00.000Z";
  const progress = { python: cell("in_progress", last), django: cell("not_started", last) };
  assert.deepEqual(learnerRisk(progress, milestones, NOW), [
    "Python was due 2026-10-07",
    "Django was due 2026-10-14",
    "no progress for 14 days",
  ]);
});

test("the rule agrees with the server on every learner of the demo snapshots", () => {
  const { before, after } = loadFixture();
  for (const snapshot of [before, after]) {
    const now = Date.parse(snapshot.generated_at);
    for (const learner of snapshot.learners) {
      const reasons = learnerRisk(learner.progress, snapshot.milestones, now);
      assert.deepEqual(reasons, learner.risk_reasons, learner.name);
      assert.equal(reasons.length > 0, learner.at_risk);
    }
  }
});

test("due dates: the last day of program week n", () => {
  assert.equal(dueDate("2026-09-24", 1), "2026-09-30");
  assert.equal(dueDate("2026-09-24", 16), "2027-01-13");
  assert.equal(utcDate(Date.parse("2026-10-15T23:30:00.000Z")), "2026-10-15");
});

test("next milestone: the first one neither submitted nor completed", () => {
  const progress = { python: cell("completed"), django: cell("submitted"), docker: cell("in_progress") };
  assert.equal(nextMilestone(progress, milestones).slug, "docker");
  assert.equal(nextMilestone({ ...progress, docker: cell("completed") }, milestones), null);
});
