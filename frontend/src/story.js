// A learner's story, as the drill-down panel shows it: their figures and milestones from
// the live state, and which events are about them (to keep their timeline live). Pure:
// `node --test` runs it.

import { isOverdue } from "./risk.js";
import { learnerCompletion } from "./state.js";

// Events that name the learner they are about in `data.learner.id` (the server's
// `event_subject`, dashboard/selectors/privacy.py).
const SUBJECT_KINDS = new Set(["progress.updated", "learner.added", "learner.at_risk", "learner.on_track"]);
const REACTION_KINDS = new Set(["kudos.added", "comment.added"]);

/**
 * Return the id of the learner `event` is about, or null.
 *
 * A reaction is about the learner of the event it reacts to: `findEvent(seq)` returns that
 * event when the page has it (the feed, or the timeline already shown); a reaction to a
 * risk event names its learner itself (`private_to`).
 */
export function subjectOf(event, findEvent = () => null) {
  const data = event?.data ?? {};
  if (SUBJECT_KINDS.has(event?.kind)) {
    const id = data.learner?.id;
    return Number.isInteger(id) ? id : null;
  }
  if (REACTION_KINDS.has(event?.kind)) {
    if (Number.isInteger(data.private_to)) return data.private_to;
    const target = Number.isInteger(data.event) ? findEvent(data.event) : null;
    return target && !REACTION_KINDS.has(target.kind) ? subjectOf(target) : null;
  }
  return null;
}

/** Return the events of `a` and `b` once each (by seq), newest first. */
export function mergeEvents(a, b) {
  const bySeq = new Map();
  for (const event of [...a, ...b]) {
    if (Number.isInteger(event?.seq) && !bySeq.has(event.seq)) bySeq.set(event.seq, event);
  }
  return [...bySeq.values()].sort((x, y) => y.seq - x.seq);
}

/**
 * Return what the panel shows of learner `learnerId` on `today` (`YYYY-MM-DD`), or null
 * when the state has no such learner:
 * {id, name, completion, done, total, risk: null | {atRisk, reasons}, milestones: [...]}.
 *
 * `risk` is null where the viewer may not know it (a peer, for a learner: `at_risk` null in
 * the state); a milestone's `score` is whatever the state holds, which for such a peer is
 * always null (the server never sends a peer's score to a learner).
 */
export function storyOf(state, learnerId, today) {
  const learner = state.learners[learnerId];
  if (!learner) return null;
  const milestones = state.milestones.map((m) => {
    const cell = learner.progress[m.slug] ?? { status: "not_started", score: null, version: 0 };
    return {
      slug: m.slug,
      title: m.title,
      week: m.week,
      due_date: m.due_date,
      status: cell.status,
      score: cell.score ?? null,
      version: cell.version ?? 0,
      overdue: isOverdue(cell.status, m, today),
    };
  });
  const done = milestones.filter((m) => m.status === "completed").length;
  return {
    id: learner.id,
    name: learner.name,
    completion: learnerCompletion(learner, state.milestones),
    done,
    total: milestones.length,
    risk: learner.at_risk === null ? null : { atRisk: learner.at_risk, reasons: [...learner.risk_reasons] },
    milestones,
  };
}
