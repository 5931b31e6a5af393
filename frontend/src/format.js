// How values read on the page. Pure: `node --test` can check them.

// Each status has a colour (CSS) and a shape plus a word, so it reads without colour.
export const STATUS_LABEL = {
  not_started: "Not started",
  in_progress: "In progress",
  submitted: "Submitted",
  completed: "Completed",
};
export const STATUS_SHAPE = {
  not_started: "○",
  in_progress: "◐",
  submitted: "▲",
  completed: "●",
};
export const STATUS_SHORT = {
  not_started: "—",
  in_progress: "WIP",
  submitted: "Sub",
  completed: "Done",
};

/** Return the short text of a matrix cell: shape and word, or shape and score. */
export function cellText(cell) {
  const status = cell?.status ?? "not_started";
  if (status === "completed" && cell.score !== null && cell.score !== undefined) {
    return `${STATUS_SHAPE.completed} ${cell.score}`;
  }
  return `${STATUS_SHAPE[status] ?? "?"} ${STATUS_SHORT[status] ?? status}`;
}

/** Return the spoken / full text of a cell. */
export function cellDescription(cell) {
  const status = cell?.status ?? "not_started";
  const label = STATUS_LABEL[status] ?? status;
  return status === "completed" && cell.score != null ? `${label}, score ${cell.score}` : label;
}

export function percent(ratio) {
  return `${Math.round((ratio ?? 0) * 1000) / 10}%`;
}

// One cached formatter per shape: building an Intl formatter per call is slow.
const formatters = new Map();
function formatter(key, options) {
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, options);
    formatters.set(key, f);
  }
  return f;
}

function parsed(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Return the local time of an ISO instant in the reader's locale ("14:05:09", or
 * "2:05:09 PM"), with the zone ("14:05:09 CET") when `zone`; "—" when there is none.
 */
export function clockTime(iso, { zone = false } = {}) {
  const date = parsed(iso);
  if (!date) return "—";
  const options = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  return zone
    ? formatter("clock-zone", { ...options, timeZoneName: "short" }).format(date)
    : formatter("clock", options).format(date);
}

/** Return the full local date and time of an ISO instant, zone included (for titles). */
export function fullTime(iso) {
  const date = parsed(iso);
  if (!date) return "—";
  return formatter("full", { dateStyle: "medium", timeStyle: "long" }).format(date);
}

/** Return the local day and time of an ISO instant, for a history ("2 Dec, 14:05"). */
export function dayTime(iso) {
  const date = parsed(iso);
  if (!date) return "—";
  return formatter("day-time", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(date);
}

// Due dates are few and asked for once per overdue cell (thousands in a big cohort): kept.
const days = new Map();

/** Return a calendar date ("2026-12-01", a due date) in the reader's locale: "1 Dec 2026". */
export function dayDate(isoDate) {
  let text = days.get(isoDate);
  if (text !== undefined) return text;
  const date = parsed(`${isoDate}T00:00:00Z`);
  // A due date is a day, not an instant: shown as that day wherever the reader is.
  text = date
    ? formatter("day", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(date)
    : String(isoDate ?? "—");
  if (days.size > 1000) days.clear();
  days.set(isoDate, text);
  return text;
}

/** Return "12 s ago", "5 min ago", "3 h ago" or "2 d ago". */
export function ago(iso, now) {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function initials(name) {
  const parts = String(name ?? "?").trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

function possessive(name) {
  return name.endsWith("s") ? `${name}'` : `${name}'s`;
}

/**
 * Return what an event is about, for the reactions to it: {who, what} (a learner and a
 * milestone or deed), or null when the event is not known here.
 */
function subjectOf(target, titles) {
  if (!target) return null;
  const d = target.data ?? {};
  if (target.kind === "progress.updated" && d.learner?.name) {
    return { who: d.learner.name, what: titles[d.milestone] ?? d.milestone };
  }
  if (target.kind === "learner.added" && d.learner?.name) return { who: d.learner.name, what: "joining" };
  return { who: null, what: eventSummary(target, titles) };
}

/**
 * Return the feed line of an event: what happened, in words (data stays text).
 * `find(seq)` returns another event of the feed, so a reaction says what it was about.
 */
export function eventSummary(event, titles = {}, find = () => null) {
  const learnerName = (l) => l?.name ?? "someone";
  const actor = event.actor?.name ?? "System";
  const d = event.data ?? {};
  switch (event.kind) {
    case "progress.updated": {
      const to = STATUS_LABEL[d.status] ?? d.status;
      const score = d.status === "completed" && d.score != null ? ` (${d.score})` : "";
      const milestone = titles[d.milestone] ?? d.milestone;
      const whose = event.actor?.name && event.actor.name === d.learner?.name ? "their" : possessive(learnerName(d.learner));
      return `${actor} moved ${whose} ${milestone} to ${to}${score}`;
    }
    case "kudos.added": {
      const subject = subjectOf(find(d.event), titles);
      if (!subject) return `${actor} gave kudos to an earlier event`;
      if (subject.who) return `${actor} gave kudos to ${subject.who} for ${subject.what}`;
      return `${actor} gave kudos for “${subject.what}”`;
    }
    case "comment.added": {
      const subject = subjectOf(find(d.event), titles);
      let on = "an earlier event";
      if (subject?.who) on = subject.what === "joining" ? `${subject.who} joining` : `${possessive(subject.who)} ${subject.what}`;
      else if (subject) on = `“${subject.what}”`;
      return `${actor} commented on ${on}: ${d.text ?? ""}`;
    }
    case "learner.added":
      return `${learnerName(d.learner)} joined the cohort`;
    case "cohort.updated":
      return `${actor} updated the cohort ${d.cohort?.name ?? ""}`.trim();
    case "learner.at_risk": {
      const reasons = Array.isArray(d.reasons) && d.reasons.length > 0 ? `: ${d.reasons.join("; ")}` : "";
      return `${learnerName(d.learner)} is at risk${reasons}`;
    }
    case "learner.on_track":
      return `${learnerName(d.learner)} is back on track`;
    case "report.daily":
      return "Daily cohort report";
    default:
      return `${actor}: ${event.kind}`;
  }
}
