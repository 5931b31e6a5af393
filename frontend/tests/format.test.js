import assert from "node:assert/strict";
import { test } from "node:test";

import { ago, cellDescription, cellText, eventSummary, initials, percent } from "../src/format.js";

test("every status reads without colour: a shape and a word or a score", () => {
  assert.equal(cellText({ status: "not_started" }), "○ —");
  assert.equal(cellText({ status: "in_progress" }), "◐ WIP");
  assert.equal(cellText({ status: "submitted" }), "▲ Sub");
  assert.equal(cellText({ status: "completed", score: 92 }), "● 92");
  assert.equal(cellDescription({ status: "completed", score: 92 }), "Completed, score 92");
  assert.equal(cellDescription({ status: "in_progress", score: null }), "In progress");
});

test("feed lines name who did what, with milestone titles", () => {
  const event = {
    seq: 5,
    kind: "progress.updated",
    actor: { id: 1, name: "Nadia" },
    data: { learner: { id: 2, name: "Amina" }, milestone: "docker", status: "completed", score: 90 },
  };
  assert.equal(eventSummary(event, { docker: "Docker" }), "Nadia moved Amina · Docker to Completed (90)");
  assert.equal(eventSummary({ seq: 6, kind: "kudos.added", actor: { name: "B" }, data: { event: 5, kudos: 1 } }), "B gave kudos to event #5");
  assert.equal(eventSummary({ seq: 7, kind: "something.new", actor: null, data: {} }), "System: something.new");
  assert.equal(eventSummary({ seq: 8, kind: "learner.at_risk", actor: null, data: { learner: { name: "C" }, reasons: ["late"] } }), "C is at risk: late");
});

test("small formatters", () => {
  assert.equal(percent(0.5523), "55.2%");
  assert.equal(initials("Nadia Bello"), "NB");
  assert.equal(initials("admin"), "AD");
  assert.equal(ago("2026-11-26T10:00:00.000Z", Date.parse("2026-11-26T10:00:12.000Z")), "12 s ago");
  assert.equal(ago("2026-11-26T10:00:00.000Z", Date.parse("2026-11-26T13:00:00.000Z")), "3 h ago");
});
