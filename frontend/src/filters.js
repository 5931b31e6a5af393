// Which learners the matrix shows: at risk only, overdue, a milestone's status, a name.
// The same rules as the server's `GET /api/cohorts/{id}/learners/` (docs/api.md), judged
// on the live state, so a learner who becomes at risk shows up under "at risk only" as the
// event lands. Pure: `node --test` runs it.

import { isOverdue } from "./risk.js";
import { STATUSES, learnerCompletion } from "./state.js";
import { NO_FILTER } from "./route.js";

/**
 * Return `text` folded for matching a name: no case, no accents (`zoe` finds "Zoë"), as the
 * server's `name_key` (NFKD without combining marks, then casefold).
 */
export function nameKey(text) {
  return String(text ?? "")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toUpperCase()
    .toLowerCase();
}

/**
 * Return the filter the page can apply: a milestone the program does not have or a status
 * that does not exist is dropped, and so is "at risk only" for a viewer who may not see
 * peers' risk (a learner: the server refuses that filter too).
 */
export function effectiveFilter(filter, { milestones, canSeeRisk }) {
  const f = { ...NO_FILTER, ...filter };
  return {
    risk: Boolean(f.risk) && canSeeRisk,
    overdue: Boolean(f.overdue),
    milestone: milestones.some((m) => m.slug === f.milestone) ? f.milestone : "",
    status: STATUSES.includes(f.status) ? f.status : "",
    q: String(f.q ?? "").trim(),
  };
}

/** Return whether `filter` hides anyone at all. */
export function isFiltering(filter) {
  return Boolean(filter.risk || filter.overdue || filter.status || String(filter.q ?? "").trim());
}

/**
 * Return a predicate `(learner) => boolean` for `filter` on `today` (`YYYY-MM-DD`).
 *
 * risk: `at_risk === true` (a peer's hidden risk, null, never matches); overdue: any
 * milestone past due and neither submitted nor completed; status: that milestone's cell
 * has it, or any milestone's when no milestone is given (a milestone without a status
 * restricts nothing); q: part of the name, folded. All of them at once.
 */
export function matcher(filter, milestones, today) {
  const key = nameKey(String(filter.q ?? "").trim());
  const cellMilestones = filter.status
    ? milestones.filter((m) => !filter.milestone || m.slug === filter.milestone)
    : [];
  return (learner) => {
    if (filter.risk && learner.at_risk !== true) return false;
    if (key && !nameKey(learner.name).includes(key)) return false;
    if (filter.status) {
      const has = cellMilestones.some((m) => (learner.progress[m.slug]?.status ?? "not_started") === filter.status);
      if (!has) return false;
    }
    if (filter.overdue && !milestones.some((m) => isOverdue(learner.progress[m.slug]?.status, m, today))) {
      return false;
    }
    return true;
  };
}

/** Return the ids of `state`'s learners that pass `filter` on `today`, in state order. */
export function filteredIds(state, filter, today) {
  const matches = matcher(filter, state.milestones, today);
  return state.order.filter((id) => matches(state.learners[id]));
}

/** Return what the filter shows, in words: "12 of 40 learners: at risk, overdue, “ami”". */
export function filterSummary(shown, total, filter, milestones, labels) {
  if (!isFiltering(filter)) return `All ${total} learners`;
  const parts = [];
  if (filter.risk) parts.push("at risk");
  if (filter.overdue) parts.push("overdue");
  if (filter.status) {
    const title = milestones.find((m) => m.slug === filter.milestone)?.title ?? "any milestone";
    parts.push(`${title} ${labels[filter.status] ?? filter.status}`);
  }
  const q = String(filter.q ?? "").trim();
  if (q) parts.push(`“${q}”`);
  const head = shown === 0 ? `No learner of ${total} matches` : `${shown} of ${total} learners`;
  return `${head}: ${parts.join(", ")}`;
}

/** Return learner ids in display order: by name, or by completion (then name). */
export function sortedIds(state, key, dir) {
  const learners = state.order.map((id) => state.learners[id]);
  const byName = (a, b) => a.name.localeCompare(b.name) || a.id - b.id;
  const sign = dir === "desc" ? -1 : 1;
  const completion = new Map(learners.map((l) => [l.id, learnerCompletion(l, state.milestones)]));
  learners.sort((a, b) =>
    key === "completion"
      ? sign * (completion.get(a.id) - completion.get(b.id)) || byName(a, b)
      : sign * byName(a, b),
  );
  return learners.map((l) => l.id);
}
