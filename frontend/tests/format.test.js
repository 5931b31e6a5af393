import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, errorSentence } from "../src/api.js";
import { ago, cellDescription, cellText, clockTime, dayDate, eventSummary, fullTime, initials, percent } from "../src/format.js";

test("every status reads without colour: a shape and a word or a score", () => {
  assert.equal(cellText({ status: "not_started" }), "○ —");
  assert.equal(cellText({ status: "in_progress" }), "◐ WIP");
  assert.equal(cellText({ status: "submitted" }), "▲ Sub");
  assert.equal(cellText({ status: "completed", score: 92 }), "● 92");
  assert.equal(cellDescription({ status: "completed", score: 92 }), "Completed, score 92");
  assert.equal(cellDescription({ status: "in_progress", score: null }), "In progress");
});

test("feed lines say who did what to whom, with milestone titles", () => {
  const event = {
    seq: 5,
    kind: "progress.updated",
    actor: { id: 1, name: "Nadia" },
    data: { learner: { id: 2, name: "Amina" }, milestone: "docker", status: "completed", score: 90 },
  };
  const titles = { docker: "Docker", db: "Database design" };
  const find = (seq) => (seq === 5 ? event : null);
  assert.equal(eventSummary(event, titles), "Nadia moved Amina's Docker to Completed (90)");
  const own = {
    seq: 9,
    kind: "progress.updated",
    actor: { id: 3, name: "Themba" },
    data: { learner: { id: 4, name: "Themba" }, milestone: "db", status: "submitted", score: null },
  };
  assert.equal(eventSummary(own, titles), "Themba moved their Database design to Submitted");
  const kudos = { seq: 6, kind: "kudos.added", actor: { name: "B" }, data: { event: 5, kudos: 1 } };
  assert.equal(eventSummary(kudos, titles, find), "B gave kudos to Amina for Docker");
  assert.equal(eventSummary({ ...kudos, data: { event: 1 } }, titles, find), "B gave kudos to an earlier event");
  const comment = { seq: 7, kind: "comment.added", actor: { name: "B" }, data: { event: 5, text: "nice" } };
  assert.equal(eventSummary(comment, titles, find), "B commented on Amina's Docker: nice");
  assert.equal(eventSummary({ seq: 7, kind: "something.new", actor: null, data: {} }), "System: something.new");
  assert.equal(eventSummary({ seq: 8, kind: "learner.at_risk", actor: null, data: { learner: { name: "C" }, reasons: ["late"] } }), "C is at risk: late");
});

test("times read one way: local clock, the zone where it matters, calendar days as days", () => {
  const iso = "2026-11-26T10:32:44.928Z";
  assert.match(clockTime(iso), /^\d{1,2}:\d{2}:\d{2}( [AP]M)?$/);
  assert.ok(clockTime(iso, { zone: true }).length > clockTime(iso).length); // "10:32:44 UTC"
  assert.match(fullTime(iso), /2026/);
  assert.match(dayDate("2026-12-01"), /2026/);
  assert.doesNotMatch(dayDate("2026-12-01"), /2026-12-01/);
  assert.equal(clockTime(null), "—");
});

test("errors read as sentences, never 'Failed to fetch'", () => {
  assert.match(errorSentence(new TypeError("Failed to fetch")), /^The server could not be reached/);
  assert.doesNotMatch(errorSentence(new TypeError("Failed to fetch")), /Failed to fetch/);
  assert.equal(errorSentence(new ApiError(400, { error: { message: "Score must be 0-100" } })), "Score must be 0-100.");
  assert.match(errorSentence(new ApiError(401, null)), /session has ended/);
  assert.match(errorSentence(new ApiError(503, null)), /try again/);
});

test("small formatters", () => {
  assert.equal(percent(0.5523), "55.2%");
  assert.equal(initials("Nadia Bello"), "NB");
  assert.equal(initials("admin"), "AD");
  assert.equal(ago("2026-11-26T10:00:00.000Z", Date.parse("2026-11-26T10:00:12.000Z")), "12 s ago");
  assert.equal(ago("2026-11-26T10:00:00.000Z", Date.parse("2026-11-26T13:00:00.000Z")), "3 h ago");
});
