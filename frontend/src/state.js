// The dashboard's state and the one pure function that moves it: applyEvent.
//
// A state is built from the REST snapshot, then every `event` / `events` frame goes
// through applyEvent, which drops duplicates (seq already applied), refuses gaps (seq
// beyond the next one: the caller resubscribes with `since = state.seq`) and returns a
// new state plus a description of what changed, so the page updates only those parts.
// Nothing here touches the DOM or the clock: `node --test` runs it as is.

import { presenceFromList } from "./presence.js";
import { dueDate, learnerRisk } from "./risk.js";

export { applyPresence, presenceFromList } from "./presence.js";

export const FEED_SIZE = 50;
// What a learner gets instead of an event about a peer's risk (privacy by role): it
// advances the seq and shows nowhere.
export const HIDDEN = "hidden";
export const STATUSES = ["not_started", "in_progress", "submitted", "completed"];

// What a learner may do to their own cells (dashboard/services/progress.py).
export const LEARNER_TRANSITIONS = {
  not_started: ["in_progress"],
  in_progress: ["submitted"],
  submitted: ["in_progress"],
  completed: [],
};

// --------------------------------------------------------------------------------------
// Building a state
// --------------------------------------------------------------------------------------

function copyProgress(progress) {
  const copy = {};
  for (const [slug, cell] of Object.entries(progress ?? {})) copy[slug] = { ...cell };
  return copy;
}

function commentsOfFeed(feed) {
  const comments = {};
  // The feed is newest first; keep each event's comments oldest first.
  for (const event of [...feed].reverse()) {
    if (event.kind === "comment.added" && event.data && typeof event.data.event === "number") {
      (comments[event.data.event] ??= []).push(event.data);
    }
  }
  return comments;
}

/** Return the state of a REST snapshot (see api.md), copied so that it is never shared.
 *
 * Privacy by role: a learner's snapshot gives peers `at_risk: null` (not theirs to know).
 * Such a learner stays unjudged here (`at_risk` null, never re-judged), and the cohort's
 * at-risk count keeps the snapshot's share of them (`hiddenAtRisk`). */
export function stateFromSnapshot(snapshot) {
  const learners = {};
  const order = [];
  let visibleAtRisk = 0;
  let redacted = false;
  for (const l of snapshot.learners) {
    const hidden = l.at_risk === null;
    redacted ||= hidden;
    visibleAtRisk += l.at_risk ? 1 : 0;
    learners[l.id] = {
      id: l.id,
      user: l.user ?? null,
      name: l.name,
      progress: copyProgress(l.progress),
      at_risk: hidden ? null : Boolean(l.at_risk),
      risk_reasons: [...(l.risk_reasons ?? [])],
    };
    order.push(l.id);
  }
  const feed = snapshot.feed
    .filter((e) => e.kind !== HIDDEN)
    .slice(0, FEED_SIZE)
    .map((e) => ({ ...e }));
  const byMilestone = {};
  for (const [slug, counts] of Object.entries(snapshot.stats.by_milestone)) {
    byMilestone[slug] = { ...counts };
  }
  return {
    cohort: { ...snapshot.cohort },
    milestones: snapshot.milestones.map((m) => ({ ...m })),
    learners,
    order,
    stats: { ...snapshot.stats, by_milestone: byMilestone },
    redacted,
    hiddenAtRisk: redacted ? Math.max(0, (snapshot.stats.at_risk ?? 0) - visibleAtRisk) : 0,
    feed,
    comments: commentsOfFeed(feed),
    // Comment counts: a snapshot's counts cover every comment up to its seq, so later
    // comment events add to them; an event met in a frame may have been serialised late
    // (a replay carries current counts), so its comment events only ever raise it to at
    // least their number.
    tally: Object.fromEntries(feed.map((e) => [e.seq, { base: e.comments ?? 0, additive: true, seen: 0 }])),
    seq: snapshot.seq,
    lastEventAt: feed.length > 0 ? feed[0].at : null,
    presence: presenceFromList(snapshot.presence ?? []),
  };
}

// --------------------------------------------------------------------------------------
// Stats helpers
// --------------------------------------------------------------------------------------

/** Return the cohort completion: completed cells over all cells, rounded as the server does. */
export function completionOf(byMilestone) {
  let total = 0;
  let completed = 0;
  for (const counts of Object.values(byMilestone)) {
    for (const status of STATUSES) total += counts[status] ?? 0;
    completed += counts.completed ?? 0;
  }
  return total === 0 ? 0 : Math.round((completed / total) * 10000) / 10000;
}

/** Return a learner's own completion (0-1) over the cohort's milestones. */
export function learnerCompletion(learner, milestones) {
  if (milestones.length === 0) return 0;
  let done = 0;
  for (const m of milestones) done += learner.progress[m.slug]?.status === "completed" ? 1 : 0;
  return done / milestones.length;
}

function riskCounts(learners, hiddenAtRisk = 0) {
  let atRisk = hiddenAtRisk;
  let total = 0;
  for (const l of Object.values(learners)) {
    total += 1;
    atRisk += l.at_risk ? 1 : 0;
  }
  return { on_track: total - atRisk, at_risk: atRisk };
}

function judged(learner, milestones, now) {
  if (learner.at_risk === null) return learner; // a peer's risk is not this viewer's to know
  const reasons = learnerRisk(learner.progress, milestones, now);
  return { ...learner, at_risk: reasons.length > 0, risk_reasons: reasons };
}

function sameReasons(a, b) {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/**
 * Re-judge every learner's risk at `now` (ms); return {state, changed: [learner ids]}.
 * The page calls it once a minute, since "7 days without progress" passes with time alone.
 */
export function refreshRisk(state, now) {
  const changed = [];
  const learners = { ...state.learners };
  for (const id of state.order) {
    const before = learners[id];
    const after = judged(before, state.milestones, now);
    if (after.at_risk !== before.at_risk || !sameReasons(after.risk_reasons, before.risk_reasons)) {
      learners[id] = after;
      changed.push(id);
    }
  }
  if (changed.length === 0) return { state, changed };
  const counts = riskCounts(learners, state.hiddenAtRisk);
  return { state: { ...state, learners, stats: { ...state.stats, ...counts } }, changed };
}

// --------------------------------------------------------------------------------------
// applyEvent
// --------------------------------------------------------------------------------------

/** Return an empty description of changes; the page merges and renders these. */
export function noChanges() {
  return {
    cells: [], // [learnerId, slug]
    learners: [], // learner ids whose row (name, risk, completion) changed
    added: [], // learner ids new to the matrix
    feed: [], // events added to the feed, oldest first
    counts: [], // seqs of feed events whose kudos/comment counts changed
    cohort: false,
    stats: false,
  };
}

/** Add the changes `more` to `into` (returned): the page merges a frame's worth of them. */
export function mergeChanges(into, more) {
  into.cells.push(...more.cells);
  into.learners.push(...more.learners);
  into.added.push(...more.added);
  into.feed.push(...more.feed);
  into.counts.push(...more.counts);
  into.cohort ||= more.cohort;
  into.stats ||= more.stats;
  return into;
}

function withFeedCount(feed, seq, update) {
  const index = feed.findIndex((e) => e.seq === seq);
  if (index < 0) return feed;
  const next = feed.slice();
  next[index] = update(next[index]);
  return next;
}

function applyProgress(state, event, changes) {
  const data = event.data ?? {};
  const learnerId = data.learner?.id;
  const learner = state.learners[learnerId];
  const milestone = state.milestones.find((m) => m.slug === data.milestone);
  if (!learner || !milestone || !STATUSES.includes(data.status)) return state;
  const previous = learner.progress[milestone.slug]?.status ?? "not_started";
  const cell = {
    status: data.status,
    score: data.score ?? null,
    version: data.version,
    updated_at: event.at,
  };
  const updated = judged(
    { ...learner, progress: { ...learner.progress, [milestone.slug]: cell } },
    state.milestones,
    Date.parse(event.at),
  );
  const learners = { ...state.learners, [learnerId]: updated };
  const counts = { ...state.stats.by_milestone[milestone.slug] };
  counts[previous] = (counts[previous] ?? 0) - 1;
  counts[data.status] = (counts[data.status] ?? 0) + 1;
  const byMilestone = { ...state.stats.by_milestone, [milestone.slug]: counts };
  changes.cells.push([learnerId, milestone.slug]);
  changes.learners.push(learnerId);
  changes.stats = true;
  return {
    ...state,
    learners,
    stats: {
      ...state.stats,
      by_milestone: byMilestone,
      completion: completionOf(byMilestone),
      ...riskCounts(learners, state.hiddenAtRisk),
    },
  };
}

function applyLearnerAdded(state, event, changes) {
  const data = event.data ?? {};
  const id = data.learner?.id;
  if (typeof id !== "number" || state.learners[id]) return state;
  const learner = judged(
    {
      id,
      user: data.learner.user ?? null,
      name: data.learner.name,
      progress: copyProgress(data.progress),
      at_risk: state.redacted ? null : false,
      risk_reasons: [],
    },
    state.milestones,
    Date.parse(event.at),
  );
  const learners = { ...state.learners, [id]: learner };
  const byMilestone = {};
  for (const [slug, counts] of Object.entries(state.stats.by_milestone)) {
    const status = learner.progress[slug]?.status ?? "not_started";
    byMilestone[slug] = { ...counts, [status]: (counts[status] ?? 0) + 1 };
  }
  changes.added.push(id);
  changes.stats = true;
  return {
    ...state,
    learners,
    order: [...state.order, id],
    stats: {
      ...state.stats,
      by_milestone: byMilestone,
      completion: completionOf(byMilestone),
      ...riskCounts(learners, state.hiddenAtRisk),
    },
  };
}

function applyCohortUpdated(state, event, changes) {
  const cohort = event.data?.cohort;
  if (!cohort || typeof cohort !== "object") return state;
  const merged = { ...state.cohort, ...cohort };
  const milestones = state.milestones.map((m) => ({
    ...m,
    due_date: merged.start_date ? dueDate(merged.start_date, m.week) : m.due_date,
  }));
  const moved = { ...state, cohort: merged, milestones };
  const { state: judgedState, changed } = refreshRisk(moved, Date.parse(event.at));
  changes.cohort = true;
  changes.stats = true;
  changes.learners.push(...changed);
  return judgedState;
}

/**
 * Apply one event to `state`; return {state, outcome, changes}.
 *
 * outcome: "applied" (the next seq; unknown kinds too, they still advance the seq and
 * show in the feed), "duplicate" (seq already applied: state unchanged), "gap" (seq beyond
 * the next one: state unchanged, resubscribe with since = state.seq) or "invalid".
 */
export function applyEvent(state, event) {
  const changes = noChanges();
  if (!event || typeof event !== "object" || !Number.isInteger(event.seq)) {
    return { state, outcome: "invalid", changes };
  }
  if (event.seq <= state.seq) return { state, outcome: "duplicate", changes };
  if (event.seq !== state.seq + 1) return { state, outcome: "gap", changes };

  if (event.kind === HIDDEN) {
    return { state: { ...state, seq: event.seq }, outcome: "applied", changes };
  }
  const entry = { ...event, kudos: event.kudos ?? 0, comments: event.comments ?? 0 };
  const feed = [entry, ...state.feed];
  const tally = { ...state.tally, [event.seq]: { base: entry.comments, additive: false, seen: 0 } };
  for (const dropped of feed.splice(FEED_SIZE)) delete tally[dropped.seq];
  let next = {
    ...state,
    seq: event.seq,
    lastEventAt: event.at ?? state.lastEventAt,
    feed,
    tally,
  };
  changes.feed.push(entry);

  const data = event.data ?? {};
  switch (event.kind) {
    case "progress.updated":
      next = applyProgress(next, event, changes);
      break;
    case "kudos.added":
      if (Number.isInteger(data.event) && Number.isInteger(data.kudos)) {
        // Kudos only grow, and a replayed target may already carry a later count.
        next.feed = withFeedCount(next.feed, data.event, (e) => ({
          ...e,
          kudos: Math.max(e.kudos ?? 0, data.kudos),
        }));
        changes.counts.push(data.event);
      }
      break;
    case "comment.added":
      if (Number.isInteger(data.event)) {
        const known = next.tally[data.event];
        if (known) {
          const t = { ...known, seen: known.seen + 1 };
          next.tally = { ...next.tally, [data.event]: t };
          const count = t.additive ? t.base + t.seen : Math.max(t.base, t.seen);
          next.feed = withFeedCount(next.feed, data.event, (e) => ({ ...e, comments: count }));
        }
        next.comments = {
          ...next.comments,
          [data.event]: [...(next.comments[data.event] ?? []), data],
        };
        changes.counts.push(data.event);
      }
      break;
    case "learner.added":
      next = applyLearnerAdded(next, event, changes);
      break;
    case "cohort.updated":
      next = applyCohortUpdated(next, event, changes);
      break;
    default:
      // A kind this page does not know (report.daily...): it only takes its place in the feed.
      break;
  }
  return { state: next, outcome: "applied", changes };
}

/**
 * Apply events in order, as an `events` frame carries them; stop at the first gap.
 * Return {state, applied, duplicates, gap, changes}.
 */
export function applyEvents(state, events) {
  const changes = noChanges();
  let applied = 0;
  let duplicates = 0;
  let current = state;
  for (const event of events) {
    const result = applyEvent(current, event);
    if (result.outcome === "gap") {
      return { state: current, applied, duplicates, gap: true, changes };
    }
    if (result.outcome === "applied") applied += 1;
    if (result.outcome === "duplicate") duplicates += 1;
    current = result.state;
    mergeChanges(changes, result.changes);
  }
  return { state: current, applied, duplicates, gap: false, changes };
}
