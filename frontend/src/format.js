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

let timeFormat = null;

/** Return "HH:MM:SS" (local time) of an ISO time, or "—". */
export function clockTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  // One formatter for all: building an Intl formatter per call is slow.
  timeFormat ??= new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return timeFormat.format(date);
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

/** Return the feed line of an event: what happened, in words (data stays text). */
export function eventSummary(event, titles = {}) {
  const learnerName = (l) => l?.name ?? "someone";
  const actor = event.actor?.name ?? "System";
  const d = event.data ?? {};
  switch (event.kind) {
    case "progress.updated": {
      const to = STATUS_LABEL[d.status] ?? d.status;
      const score = d.status === "completed" && d.score != null ? ` (${d.score})` : "";
      const milestone = titles[d.milestone] ?? d.milestone;
      return `${actor} moved ${learnerName(d.learner)} · ${milestone} to ${to}${score}`;
    }
    case "kudos.added":
      return `${actor} gave kudos to event #${d.event}`;
    case "comment.added":
      return `${actor} commented on #${d.event}: ${d.text ?? ""}`;
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
