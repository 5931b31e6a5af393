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
 * Return whether a cell at `status` on `milestone` is overdue on `today` (`YYYY-MM-DD`):
 * its due date has passed and it is neither submitted nor completed.
 */
export function isOverdue(status, milestone, today) {
  return milestone.due_date < today && !DONE.has(status ?? "not_started");
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
    if (isOverdue(progress[m.slug]?.status, m, today)) {
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

/**
 * Return the cohort's program week on `today` (`YYYY-MM-DD`): 0 before it starts, 1 in
 * its first seven days, capped at its last week (the server's `program_week`).
 */
export function programWeek(cohort, today) {
  if (!cohort?.start_date) return 0;
  const days = Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${cohort.start_date}T00:00:00Z`)) / DAY_MS);
  if (!Number.isFinite(days) || days < 0) return 0;
  const week = Math.floor(days / 7) + 1;
  if (!cohort.end_date) return week;
  const span = Math.round((Date.parse(`${cohort.end_date}T00:00:00Z`) - Date.parse(`${cohort.start_date}T00:00:00Z`)) / DAY_MS);
  return Math.min(week, Math.ceil((span + 1) / 7));
}

/**
 * Return the milestone of this program week on `today`: the one expected by the end of
 * the week, or, in a week without one, the next one due; null before the start and once
 * every milestone is past due.
 */
export function currentMilestone(cohort, milestones, today) {
  if (programWeek(cohort, today) < 1) return null;
  let found = null;
  for (const m of milestones) {
    if (m.due_date >= today && (found === null || m.due_date < found.due_date)) found = m;
  }
  return found;
}

/**
 * Return this week's milestone on `today` and how to say it, or null:
 * {milestone, words: "this week" | "due next (this is week N)"}.
 */
export function thisWeeksMilestone(cohort, milestones, today) {
  const milestone = currentMilestone(cohort, milestones, today);
  if (!milestone) return null;
  const week = programWeek(cohort, today);
  return { milestone, words: milestone.week === week ? "this week" : `due next (this is week ${week})` };
}
