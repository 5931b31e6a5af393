// The staff's program view without the DOM: which week to compare cohorts at, each
// cohort's row at that week, the chart's series and the words for lateness. The data is
// GET /api/program/overview/ (docs/api.md).

/** Return the most weeks any cohort has ended (the chart's last week). */
export function weeksShown(overview) {
  return Math.max(0, ...overview.cohorts.map((c) => c.completion_by_week.length));
}

/**
 * Return the week to compare at first: the latest week that at least two cohorts have
 * ended (so there is something to compare), else the latest any has; 0 when none has.
 */
export function defaultWeek(overview) {
  const lengths = overview.cohorts.map((c) => c.completion_by_week.length).sort((a, b) => b - a);
  if (lengths.length >= 2 && lengths[1] > 0) return lengths[1];
  return lengths[0] ?? 0;
}

/**
 * Return one row per cohort: its completion at the end of program week `week` (null when
 * that week has not ended for it), now, the share expected by now, on track and at risk.
 */
export function weekRows(overview, week) {
  return overview.cohorts.map((c) => ({
    id: c.id,
    name: c.name,
    week: c.week,
    atWeek: week >= 1 && week <= c.completion_by_week.length ? c.completion_by_week[week - 1] : null,
    completion: c.completion,
    expected: c.expected_completion,
    behind: c.completion < c.expected_completion,
    onTrack: c.on_track,
    atRisk: c.at_risk,
  }));
}

/** Return each cohort's line: [[week, completion]], from 0 at week 0 to its last ended week. */
export function weekSeries(overview) {
  return overview.cohorts.map((c) => ({
    id: c.id,
    name: c.name,
    points: [[0, 0], ...c.completion_by_week.map((v, i) => [i + 1, v])],
  }));
}

/** Return the chart's top: the highest completion rounded up to a tenth (at least 10%). */
export function chartTop(overview) {
  const values = overview.cohorts.flatMap((c) => c.completion_by_week);
  return Math.max(0.1, Math.ceil(Math.max(0, ...values) * 10 - 1e-9) / 10);
}

/** Return "on time", "1 day late" or "2.5 days late" for a median number of days. */
export function lateWords(days) {
  if (!(days > 0)) return "on time";
  const n = Number.isInteger(days) ? String(days) : days.toFixed(1);
  return `${n} ${days === 1 ? "day" : "days"} late`;
}
