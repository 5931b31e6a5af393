import assert from "node:assert/strict";
import { test } from "node:test";

import { chartTop, defaultWeek, lateWords, weekRows, weekSeries, weeksShown } from "../src/program.js";

const cohort = (id, byWeek, extra = {}) => ({
  id,
  name: `Cohort ${id}`,
  week: byWeek.length + 1,
  completion: byWeek.at(-1) ?? 0,
  expected_completion: 0.3,
  on_track: 10,
  at_risk: 2,
  completion_by_week: byWeek,
  ...extra,
});
const overview = {
  cohorts: [cohort(1, [0.05, 0.1, 0.2, 0.31, 0.4]), cohort(2, [0.02, 0.08, 0.15]), cohort(3, [])],
  slowest_milestones: [{ slug: "docker", title: "Docker", median_days_late: 4 }],
};

test("cohorts are compared at the latest week two of them have ended", () => {
  assert.equal(weeksShown(overview), 5);
  assert.equal(defaultWeek(overview), 3);
  assert.equal(defaultWeek({ cohorts: [cohort(1, [0.1, 0.2])] }), 2);
  assert.equal(defaultWeek({ cohorts: [cohort(1, []), cohort(2, [])] }), 0);
  assert.equal(defaultWeek({ cohorts: [] }), 0);
  assert.equal(weeksShown({ cohorts: [] }), 0);
});

test("each cohort's row has its completion at that week, or null before it", () => {
  const rows = weekRows(overview, 3);
  assert.deepEqual(rows.map((r) => r.atWeek), [0.2, 0.15, null]);
  assert.equal(rows[0].completion, 0.4);
  assert.equal(rows[0].behind, false);
  assert.equal(rows[1].behind, true); // 0.15 now, 0.3 expected
  assert.deepEqual([rows[0].onTrack, rows[0].atRisk], [10, 2]);
  assert.deepEqual(weekRows(overview, 0).map((r) => r.atWeek), [null, null, null]);
  assert.deepEqual(weekRows(overview, 5).map((r) => r.atWeek), [0.4, null, null]);
});

test("a cohort's line starts at 0 at week 0 and has a point per ended week", () => {
  const [first, second, third] = weekSeries(overview);
  assert.deepEqual(first.points[0], [0, 0]);
  assert.deepEqual(first.points.at(-1), [5, 0.4]);
  assert.equal(second.points.length, 4);
  assert.deepEqual(third.points, [[0, 0]]);
});

test("the chart's top is the highest completion rounded up to a tenth", () => {
  assert.equal(chartTop(overview), 0.4);
  assert.equal(chartTop({ cohorts: [cohort(1, [0.41])] }), 0.5);
  assert.equal(chartTop({ cohorts: [cohort(1, [0])] }), 0.1);
  assert.equal(chartTop({ cohorts: [cohort(1, [1])] }), 1);
});

test("lateness reads as words", () => {
  assert.equal(lateWords(0), "on time");
  assert.equal(lateWords(1), "1 day late");
  assert.equal(lateWords(4), "4 days late");
  assert.equal(lateWords(2.5), "2.5 days late");
});
