import assert from "node:assert/strict";
import { test } from "node:test";

import { loadFixture } from "./fixture.js";

import { effectiveFilter, filterSummary, filteredIds, isFiltering, matcher, nameKey } from "../src/filters.js";
import { STATUS_LABEL } from "../src/format.js";
import { currentMilestone, isOverdue, programWeek, thisWeeksMilestone, utcDate } from "../src/risk.js";
import { NO_FILTER, parseRoute, routeHash, sameRoute } from "../src/route.js";
import { applyEvent, stateFromSnapshot } from "../src/state.js";

const { before } = loadFixture();

// --------------------------------------------------------------------------------------
// The route in the URL hash
// --------------------------------------------------------------------------------------

test("a route reads every filter and the open learner from the hash", () => {
  const route = parseRoute("#cohort=1&risk=1&overdue=1&q=ami&m=docker:submitted&learner=12");
  assert.deepEqual(route, {
    cohort: 1,
    filter: { risk: true, overdue: true, milestone: "docker", status: "submitted", q: "ami" },
    learner: 12,
  });
  assert.equal(routeHash(route), "#cohort=1&risk=1&overdue=1&m=docker:submitted&q=ami&learner=12");
});

test("a hash with the cohort only stays exactly that, and no filter is no parameter", () => {
  const route = parseRoute("#cohort=3");
  assert.deepEqual(route, { cohort: 3, filter: { ...NO_FILTER }, learner: null });
  assert.equal(routeHash(route), "#cohort=3");
  assert.equal(routeHash({ cohort: null, filter: NO_FILTER, learner: null }), "");
});

test("a name with spaces, accents and URL characters goes through the hash and back", () => {
  for (const q of ["Zoë Ångström", "a&b=c", "100%", "#x", "O'Brien + co"]) {
    const hash = routeHash({ cohort: 1, filter: { ...NO_FILTER, q }, learner: null });
    assert.equal(parseRoute(hash).filter.q, q, hash);
  }
});

test("what does not parse is left out: bad numbers, slugs and statuses", () => {
  const route = parseRoute("cohort=abc&learner=-4&risk=yes&m=<b>:DROP&q=" + "x".repeat(300));
  assert.equal(route.cohort, null);
  assert.equal(route.learner, null);
  assert.equal(route.filter.risk, false);
  assert.equal(route.filter.milestone, "");
  assert.equal(route.filter.status, "");
  assert.equal(route.filter.q.length, 100);
  assert.deepEqual(parseRoute("").filter, NO_FILTER);
  // A status alone (any milestone) is kept both ways.
  const any = parseRoute("#cohort=1&m=:submitted");
  assert.deepEqual([any.filter.milestone, any.filter.status], ["", "submitted"]);
  assert.equal(routeHash(any), "#cohort=1&m=:submitted");
});

test("two routes are the same when they say the same thing", () => {
  assert.ok(sameRoute(parseRoute("#risk=true&cohort=1"), parseRoute("#cohort=1&risk=1")));
  assert.ok(!sameRoute(parseRoute("#cohort=1"), parseRoute("#cohort=1&learner=2")));
});

// --------------------------------------------------------------------------------------
// Due dates and the program week
// --------------------------------------------------------------------------------------

const cohort = { start_date: "2026-09-24", end_date: "2027-01-14" };
const milestones = [
  { slug: "python", title: "Python", week: 1, due_date: "2026-09-30" },
  { slug: "django", title: "Django", week: 2, due_date: "2026-10-07" },
  { slug: "rest", title: "REST APIs", week: 4, due_date: "2026-10-21" },
  { slug: "docker", title: "Docker", week: 6, due_date: "2026-11-04" },
];

test("overdue: past its due date and neither submitted nor completed", () => {
  const m = milestones[1];
  assert.equal(isOverdue("not_started", m, "2026-10-08"), true);
  assert.equal(isOverdue("in_progress", m, "2026-10-08"), true);
  assert.equal(isOverdue(undefined, m, "2026-10-08"), true);
  assert.equal(isOverdue("submitted", m, "2026-10-08"), false);
  assert.equal(isOverdue("completed", m, "2026-10-08"), false);
  assert.equal(isOverdue("not_started", m, "2026-10-07"), false); // due today: not yet
});

test("the program week: 0 before the start, 1 in the first seven days, capped at the last", () => {
  assert.equal(programWeek(cohort, "2026-09-23"), 0);
  assert.equal(programWeek(cohort, "2026-09-24"), 1);
  assert.equal(programWeek(cohort, "2026-09-30"), 1);
  assert.equal(programWeek(cohort, "2026-10-01"), 2);
  // 113 days from start to end inclusive: 17 weeks, as the server's program_week counts.
  assert.equal(programWeek(cohort, "2027-01-14"), 17);
  assert.equal(programWeek(cohort, "2027-06-01"), 17);
  assert.equal(programWeek({ start_date: null }, "2026-10-01"), 0);
});

test("this week's milestone is the one due by its end, or the next one due in a week without one", () => {
  assert.equal(currentMilestone(cohort, milestones, "2026-09-20"), null); // not started yet
  assert.equal(currentMilestone(cohort, milestones, "2026-09-24").slug, "python");
  assert.equal(currentMilestone(cohort, milestones, "2026-10-07").slug, "django"); // due today
  assert.equal(currentMilestone(cohort, milestones, "2026-10-10").slug, "rest"); // week 3: none
  assert.equal(currentMilestone(cohort, milestones, "2026-12-01"), null); // all past due
  assert.equal(thisWeeksMilestone(cohort, milestones, "2026-10-01").words, "this week");
  assert.equal(thisWeeksMilestone(cohort, milestones, "2026-10-10").words, "due next (this is week 3)");
  assert.equal(thisWeeksMilestone(cohort, milestones, "2026-12-01"), null);
});

// --------------------------------------------------------------------------------------
// Filters
// --------------------------------------------------------------------------------------

const cell = (status, score = null) => ({ status, score, version: 1, updated_at: "2026-10-10T10:00:00Z" });
const learner = (id, name, atRisk, statuses) => ({
  id,
  user: id,
  name,
  at_risk: atRisk,
  risk_reasons: atRisk ? ["Django was due 2026-10-07"] : [],
  progress: Object.fromEntries(milestones.map((m, i) => [m.slug, cell(statuses[i] ?? "not_started")])),
});
const TODAY = "2026-10-10"; // python and django are past due
const people = [
  learner(1, "Zoë Ångström", true, ["completed", "in_progress"]),
  learner(2, "Amina Osei", false, ["completed", "submitted", "submitted"]),
  learner(3, "Kwame Amidu", false, ["completed", "completed", "in_progress"]),
  learner(4, "Peer Hidden", null, ["submitted", "not_started"]),
];
const state = {
  milestones,
  learners: Object.fromEntries(people.map((l) => [l.id, l])),
  order: people.map((l) => l.id),
};
const only = (filter) => filteredIds(state, { ...NO_FILTER, ...filter }, TODAY);

test("names match in part, without case or accents, as the server's search does", () => {
  assert.equal(nameKey("Zoë Ångström"), "zoe angstrom");
  assert.deepEqual(only({ q: "zoe" }), [1]);
  assert.deepEqual(only({ q: "ANGSTR" }), [1]);
  assert.deepEqual(only({ q: "ami" }), [2, 3]);
  assert.deepEqual(only({ q: "  ami " }), [2, 3]);
  assert.deepEqual(only({ q: "nobody" }), []);
});

test("at risk only shows learners judged at risk, never one whose risk is hidden", () => {
  assert.deepEqual(only({ risk: true }), [1]);
});

test("overdue: any milestone past due and not submitted or completed", () => {
  // 1: django in progress; 4: django not started. 3's in-progress REST is not due yet.
  assert.deepEqual(only({ overdue: true }), [1, 4]);
});

test("a milestone's status, or a status on any milestone; a milestone alone restricts nothing", () => {
  assert.deepEqual(only({ milestone: "django", status: "submitted" }), [2]);
  assert.deepEqual(only({ milestone: "", status: "submitted" }), [2, 4]);
  assert.deepEqual(only({ milestone: "docker", status: "not_started" }), [1, 2, 3, 4]);
  assert.deepEqual(only({ milestone: "django", status: "" }), [1, 2, 3, 4]);
});

test("filters combine: every one must hold", () => {
  assert.deepEqual(only({ overdue: true, q: "peer" }), [4]);
  assert.deepEqual(only({ risk: true, milestone: "django", status: "submitted" }), []);
  assert.deepEqual(only({}), [1, 2, 3, 4]);
});

test("the page drops what it cannot apply: an unknown milestone or status, risk for a learner", () => {
  const f = { risk: true, overdue: false, milestone: "nope", status: "bogus", q: " x " };
  assert.deepEqual(effectiveFilter(f, { milestones, canSeeRisk: false }), {
    risk: false,
    overdue: false,
    milestone: "",
    status: "",
    q: "x",
  });
  assert.equal(effectiveFilter(f, { milestones, canSeeRisk: true }).risk, true);
  assert.equal(isFiltering(NO_FILTER), false);
  assert.equal(isFiltering({ ...NO_FILTER, milestone: "django" }), false);
  assert.equal(isFiltering({ ...NO_FILTER, q: "  " }), false);
  assert.equal(isFiltering({ ...NO_FILTER, q: "a" }), true);
});

test("the filter says what it shows in words", () => {
  assert.equal(filterSummary(4, 4, NO_FILTER, milestones, STATUS_LABEL), "All 4 learners");
  assert.equal(
    filterSummary(1, 4, { ...NO_FILTER, risk: true, milestone: "django", status: "submitted", q: "ami" }, milestones, STATUS_LABEL),
    "1 of 4 learners: at risk, Django Submitted, “ami”",
  );
  assert.equal(
    filterSummary(0, 4, { ...NO_FILTER, overdue: true, status: "completed" }, milestones, STATUS_LABEL),
    "No learner of 4 matches: overdue, any milestone Completed",
  );
});

test("a live event moves a learner into the filtered set: the one who becomes at risk shows up", () => {
  const s = stateFromSnapshot(before);
  const at = before.generated_at;
  const today = utcDate(Date.parse(at));
  // An on-track learner with a past-due milestone that is done: reopening it puts them at risk.
  const m = s.milestones.find((x) => x.due_date < today);
  const id = s.order.find((i) => s.learners[i].at_risk === false && s.learners[i].progress[m.slug].status === "completed");
  assert.ok(id, "the fixture has an on-track learner with a past-due completed milestone");
  const atRisk = { ...NO_FILTER, risk: true };
  assert.ok(!filteredIds(s, atRisk, today).includes(id));
  const cellNow = s.learners[id].progress[m.slug];
  const { state: after } = applyEvent(s, {
    seq: s.seq + 1,
    kind: "progress.updated",
    at,
    actor: { id: 1, name: "Mentor" },
    data: {
      learner: { id, name: s.learners[id].name },
      milestone: m.slug,
      status: "in_progress",
      previous_status: "completed",
      score: null,
      version: cellNow.version + 1,
    },
  });
  assert.ok(filteredIds(after, atRisk, today).includes(id));
  assert.ok(filteredIds(after, { ...NO_FILTER, overdue: true }, today).includes(id));
  // Every learner the page shows at risk is one the filter keeps, and only those.
  const shown = after.order.filter((i) => after.learners[i].at_risk === true);
  assert.deepEqual(filteredIds(after, atRisk, today), shown);
});

test("filtering 400 learners takes a small part of a frame", () => {
  const many = { milestones: before.milestones, learners: {}, order: [] };
  const rows = before.learners;
  for (let i = 0; i < 400; i += 1) {
    const row = rows[i % rows.length];
    many.learners[i + 1] = { ...row, id: i + 1, name: `${row.name} ${i}`, progress: row.progress };
    many.order.push(i + 1);
  }
  const today = utcDate(Date.parse(before.generated_at));
  const filter = { ...NO_FILTER, overdue: true, status: "in_progress", q: "a" };
  filteredIds(many, filter, today); // warm up
  const started = performance.now();
  for (let i = 0; i < 20; i += 1) filteredIds(many, filter, today);
  const each = (performance.now() - started) / 20;
  assert.ok(each < 4, `${each.toFixed(2)} ms`);
});

test("the matcher is built once per pass, not per learner", () => {
  const matches = matcher({ ...NO_FILTER, q: "zoe" }, milestones, TODAY);
  assert.equal(matches(people[0]), true);
  assert.equal(matches(people[1]), false);
});
