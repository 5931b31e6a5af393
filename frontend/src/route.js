// The page's place in the URL hash: the cohort, the matrix's filters and the learner whose
// story is open, e.g. `#cohort=1&risk=1&overdue=1&m=docker:submitted&q=ami&learner=12`.
// A link carries all of it, and the back button returns to the previous one. Pure: the
// history calls are navigation.js's.

/** The matrix without a filter. */
export const NO_FILTER = Object.freeze({ risk: false, overdue: false, milestone: "", status: "", q: "" });

const QUERY_MAX = 100;

function positiveInt(raw) {
  if (raw === null || !/^\d{1,9}$/.test(raw)) return null;
  const n = Number(raw);
  return n > 0 ? n : null;
}

const flag = (raw) => raw === "1" || raw === "true";

/**
 * Return the route of a URL hash (`location.hash`, with or without its `#`):
 * {cohort, filter: {risk, overdue, milestone, status, q}, learner}. What does not parse
 * is left out (null, false or "").
 */
export function parseRoute(hash) {
  const params = new URLSearchParams(String(hash ?? "").replace(/^#/, ""));
  const [milestone = "", status = ""] = (params.get("m") ?? "").split(":", 2);
  return {
    cohort: positiveInt(params.get("cohort")),
    filter: {
      risk: flag(params.get("risk")),
      overdue: flag(params.get("overdue")),
      milestone: /^[a-z0-9_-]{1,100}$/i.test(milestone) ? milestone : "",
      status: /^[a-z_]{1,30}$/.test(status) ? status : "",
      q: (params.get("q") ?? "").slice(0, QUERY_MAX),
    },
    learner: positiveInt(params.get("learner")),
  };
}

/** Return the URL hash of `route` (`#cohort=1&...`): only what differs from no filter. */
export function routeHash(route) {
  const parts = [];
  if (route.cohort !== null && route.cohort !== undefined) parts.push(`cohort=${route.cohort}`);
  const f = { ...NO_FILTER, ...route.filter };
  if (f.risk) parts.push("risk=1");
  if (f.overdue) parts.push("overdue=1");
  if (f.milestone || f.status) parts.push(`m=${encodeURIComponent(f.milestone)}:${encodeURIComponent(f.status)}`);
  if (f.q) parts.push(`q=${encodeURIComponent(f.q)}`);
  if (route.learner !== null && route.learner !== undefined) parts.push(`learner=${route.learner}`);
  return parts.length === 0 ? "" : `#${parts.join("&")}`;
}

/** Return whether two routes say the same thing. */
export const sameRoute = (a, b) => routeHash(a) === routeHash(b);
