// The at-risk rule of product.md, as pure functions (the same rule as
// dashboard/selectors/stats.py:learner_risk, so the page can re-judge a learner live).

export const DAY_MS = 24 * 60 * 60 * 1000;
export const INACTIVE_AFTER_MS = 7 * DAY_MS;
const DONE = new Set(["submitted", "completed"]);

/** Return the UTC calendar date of `ms` as `YYYY-MM-DD`. */
export function utcDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Return the ISO date `weeks` program weeks after `startDate`: the last day of that week. */
export function dueDate(startDate, week) {
  const start = Date.parse(`${startDate}T00:00:00Z`);
  return utcDate(start + (7 * week - 1) * DAY_MS);
}

/**
 * Return why a learner is at risk at `now` (ms since the epoch); empty when on track.
 *
 * At risk: a milestone's due date has passed and it is neither submitted nor completed,
 * or more than 7 days went by without any progress change.
 */
export function learnerRisk(progress, milestones, now) {
  const today = utcDate(now);
  const reasons = [];
  for (const m of milestones) {
    const status = progress[m.slug]?.status ?? "not_started";
    if (m.due_date < today && !DONE.has(status)) {
      reasons.push(`${m.title} was due ${m.due_date}`);
    }
  }
  const cells = Object.values(progress);
  if (cells.length > 0) {
    const last = Math.max(...cells.map((cell) => Date.parse(cell.updated_at)));
    if (now - last > INACTIVE_AFTER_MS) {
      reasons.push(`no progress for ${Math.floor((now - last) / DAY_MS)} days`);
    }
  }
  return reasons;
}

/** Return the learner's next milestone: the first in order neither submitted nor completed. */
export function nextMilestone(progress, milestones) {
  return milestones.find((m) => !DONE.has(progress[m.slug]?.status ?? "not_started")) ?? null;
}
