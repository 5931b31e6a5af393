// The live feed's reading aids, without the DOM: which events a filter keeps (by kind and
// by learner), and the pause that holds new events while someone reads the feed.

/** The kinds a reader filters by; every other kind shows under "all" only. */
export const FEED_KINDS = [
  { value: "all", label: "All activity" },
  { value: "progress", label: "Progress" },
  { value: "reactions", label: "Kudos and comments" },
  { value: "risk", label: "Risk" },
];

const GROUP = {
  "progress.updated": "progress",
  "kudos.added": "reactions",
  "comment.added": "reactions",
  "learner.at_risk": "risk",
  "learner.on_track": "risk",
};

/** Return the filter kind of an event: "progress", "reactions", "risk" or "other". */
export function kindGroup(event) {
  return GROUP[event.kind] ?? "other";
}

/**
 * Return the id of the learner an event is about, or null. A kudos or a comment is about
 * the learner of the event it reacts to, found with `find(seq)` (null once it has left
 * the feed).
 */
export function eventLearner(event, find = () => null) {
  const d = event.data ?? {};
  if (event.kind === "kudos.added" || event.kind === "comment.added") {
    const target = find(d.event);
    return target && target !== event ? eventLearner(target, () => null) : null;
  }
  return d.learner?.id ?? null;
}

/** Return a filter: `kind` one of FEED_KINDS' values, `learner` a learner id or null. */
export function feedFilter({ kind = "all", learner = null } = {}) {
  return { kind: FEED_KINDS.some((k) => k.value === kind) ? kind : "all", learner: learner ?? null };
}

export function isFiltered(filter) {
  return filter.kind !== "all" || filter.learner !== null;
}

/** Return whether `event` passes `filter`; `find(seq)` resolves a reaction's target. */
export function matchesFilter(event, filter, find = () => null) {
  if (filter.kind !== "all" && kindGroup(event) !== filter.kind) return false;
  if (filter.learner !== null && eventLearner(event, find) !== filter.learner) return false;
  return true;
}

// --------------------------------------------------------------------------------------
// The pause: while the pointer or keyboard focus is in the feed, new events are held and
// counted; they are shown when the reader leaves or asks for them.
// --------------------------------------------------------------------------------------

/** Return a pause: `pointer` and `focus` say where the reader is; `held` the events kept back. */
export function feedPause() {
  return { pointer: false, focus: false, held: [] };
}

export function isPaused(pause) {
  return pause.pointer || pause.focus;
}

/**
 * Return `{pause, release}` after the reader moved: `where` is "pointer" or "focus",
 * `inside` whether it is now in the feed. `release` holds the events to show now (oldest
 * first): all the held ones once neither pointer nor focus is in the feed.
 */
export function moveReader(pause, where, inside) {
  const next = { ...pause, [where]: Boolean(inside) };
  if (isPaused(next) || next.held.length === 0) return { pause: next, release: [] };
  return { pause: { ...next, held: [] }, release: pause.held };
}

/** Return `{pause, show}`: new events (oldest first) are held while paused, else shown. */
export function receive(pause, events) {
  if (!isPaused(pause)) return { pause, show: events };
  return { pause: { ...pause, held: [...pause.held, ...events] }, show: [] };
}

/** Return `{pause, release}` when the reader asks for the held events ("3 new"). */
export function releaseHeld(pause) {
  return { pause: { ...pause, held: [] }, release: pause.held };
}

/** Return how many held events the filter would show (the "N new" count). */
export function heldCount(pause, filter, find = () => null) {
  return pause.held.filter((e) => e.kind !== "hidden" && matchesFilter(e, filter, find)).length;
}

/** Return the words of the held count: "" when none, else "3 new". */
export function heldLabel(count) {
  return count > 0 ? `${count} new` : "";
}
