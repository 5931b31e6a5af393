// The page's sync logic as one pure reducer: reduce(sync, input) -> {sync, effects}.
//
// `sync` holds the cohort state (state.js) and everything about keeping it live: the
// socket's state, the subscription's phase, the head the server announced, the frames
// buffered while a snapshot reloads, when the page went offline and how many events it
// has caught up since. Inputs are what happened (a socket state, a frame, a snapshot
// loaded or refused, the session found ended, the network back); effects are what the
// page must do about it (send a frame, reload the snapshot, render, notify, stop the
// socket). main.js carries the effects out and nothing else decides; `node --test` runs
// every transition here without a browser.

import { caughtUpMessage } from "./connection.js";
import { applyEvents, applyPresence, presenceFromList, stateFromSnapshot } from "./state.js";

/** Close code of a socket whose session is gone (realtime.md). */
export const CLOSE_UNAUTHENTICATED = 4401;

/**
 * Return a fresh sync for cohort `cohortId`; `metrics` says whether to subscribe to the
 * cache metrics too.
 *
 * socket: "connecting" | "open" | "stale" | "down";
 * phase: "subscribing" | "catching-up" | "reloading" | "live" | "ended".
 */
export function initialSync({ cohortId = null, metrics = false, online = true } = {}) {
  return {
    cohortId,
    metrics,
    online,
    socket: "connecting",
    phase: "subscribing",
    everConnected: false,
    ended: null, // why the session ended: "expired" | "logged-out"
    head: null,
    awaitingSubscribed: false,
    buffered: [],
    offlineSince: null,
    caught: 0,
    state: null,
  };
}

export const topicOf = (sync) => `cohort:${sync.cohortId}`;

/**
 * Return what the badge shows: connecting | live | catching-up | reconnecting | offline |
 * stale | ended. Stale data is never shown as live.
 */
export function badgeOf(sync) {
  if (sync.phase === "ended") return "ended";
  if (sync.socket === "down" || sync.socket === "connecting") {
    if (!sync.online) return "offline";
    return sync.everConnected ? "reconnecting" : "connecting";
  }
  if (sync.socket === "stale") return "stale";
  if (sync.phase === "live") return "live";
  return sync.everConnected ? "catching-up" : "connecting";
}

/** Return whether what the page shows is current, so writes may go out. */
export const isLive = (sync) => badgeOf(sync) === "live";

// --------------------------------------------------------------------------------------
// Transitions
// --------------------------------------------------------------------------------------

function subscribe(sync, effects) {
  if (!sync.state) return sync;
  const topic = topicOf(sync);
  effects.push({ type: "send", frame: { type: "subscribe", topic, since: sync.state.seq, ref: `sub:${topic}` } });
  return {
    ...sync,
    awaitingSubscribed: true,
    head: null,
    phase: sync.phase === "reloading" ? "reloading" : "catching-up",
  };
}

function resubscribe(sync, effects) {
  if (sync.awaitingSubscribed) return sync; // a resubscribe is already on its way
  effects.push({ type: "send", frame: { type: "unsubscribe", topic: topicOf(sync) } });
  return subscribe(sync, effects);
}

function markLive(sync, now, effects) {
  if (sync.offlineSince !== null) {
    effects.push({
      type: "notify",
      kind: "ok",
      text: caughtUpMessage({ events: sync.caught, offlineMs: now - sync.offlineSince }),
    });
  }
  return { ...sync, phase: "live", everConnected: true, offlineSince: null, caught: 0 };
}

function ingest(sync, events, now, effects) {
  const live = sync.phase === "live";
  const result = applyEvents(sync.state, events);
  let next = { ...sync, state: result.state, caught: live ? sync.caught : sync.caught + result.applied };
  if (result.applied > 0) {
    effects.push({ type: "render", changes: result.changes, live: live ? result.changes.feed : [] });
  }
  if (result.gap) return resubscribe(next, effects);
  if (next.phase === "catching-up" && next.head !== null && next.state.seq >= next.head) {
    next = markLive(next, now, effects);
  }
  return next;
}

function end(sync, reason, effects) {
  if (sync.phase === "ended") return sync;
  effects.push({ type: "stopSocket" }, { type: "sessionEnded", reason });
  return { ...sync, phase: "ended", ended: reason, buffered: [], awaitingSubscribed: false };
}

function onSnapshot(sync, snapshot, now, effects) {
  effects.push({ type: "renderAll" });
  if (sync.phase !== "reloading" || !sync.state) {
    const next = {
      ...sync,
      state: stateFromSnapshot(snapshot),
      phase: "subscribing",
      head: null,
      buffered: [],
      awaitingSubscribed: false,
    };
    return next.socket === "open" || next.socket === "stale" ? subscribe(next, effects) : next;
  }
  // A reload after `recovered: false`: the frames that arrived meanwhile go on top of it.
  const missed = Math.max(0, snapshot.seq - sync.state.seq);
  const offline = sync.offlineSince;
  const state = { ...stateFromSnapshot(snapshot), presence: sync.state.presence };
  let next = {
    ...sync,
    state,
    phase: "live",
    head: state.seq,
    buffered: [],
    everConnected: true,
    offlineSince: null,
    caught: 0,
  };
  effects.push({
    type: "notify",
    kind: "ok",
    text: caughtUpMessage({ events: missed, offlineMs: offline === null ? 0 : now - offline, reloaded: true }),
  });
  next = ingest(next, sync.buffered, now, effects);
  return next;
}

function onSocket(sync, input, effects) {
  if (input.code === CLOSE_UNAUTHENTICATED) return end(sync, "expired", effects);
  let next = { ...sync, socket: input.state };
  if (input.state === "down" || input.state === "connecting") {
    if (next.offlineSince === null && next.everConnected) next.offlineSince = input.now;
    next.phase = next.phase === "reloading" ? "reloading" : "subscribing";
    next.awaitingSubscribed = false;
  }
  return next;
}

function onSubscribed(sync, frame, now, effects) {
  let next = { ...sync, awaitingSubscribed: false };
  next.state = { ...next.state, presence: presenceFromList(frame.presence ?? []) };
  effects.push({ type: "presence", before: sync.state.presence });
  if (frame.recovered === false) {
    effects.push({ type: "reloadSnapshot" });
    return { ...next, phase: "reloading", buffered: [] };
  }
  // Recovered: the replay that follows covers everything after state.seq.
  next = { ...next, phase: "catching-up", buffered: [] };
  next.head = typeof frame.seq === "number" ? frame.seq : next.state.seq;
  return next.state.seq >= next.head ? markLive(next, now, effects) : next;
}

function onFrame(sync, frame, now, effects) {
  const topic = topicOf(sync);
  switch (frame.type) {
    case "welcome": {
      const next = subscribe(sync, effects);
      if (sync.metrics) {
        effects.push({ type: "send", frame: { type: "subscribe", topic: "metrics:cache", ref: "sub:metrics" } });
      }
      return next;
    }
    case "subscribed":
      return frame.topic === topic && sync.state ? onSubscribed(sync, frame, now, effects) : sync;
    case "event":
    case "events": {
      if (frame.topic !== topic || !sync.state) return sync;
      const events = frame.type === "event" ? [frame.event] : (frame.events ?? []);
      if (sync.phase === "reloading") return { ...sync, buffered: [...sync.buffered, ...events] };
      return ingest(sync, events, now, effects);
    }
    case "presence": {
      if (frame.topic !== topic || !sync.state) return sync;
      const presence = applyPresence(sync.state.presence, frame.joins, frame.leaves);
      effects.push({ type: "presence", before: sync.state.presence });
      return { ...sync, state: { ...sync.state, presence } };
    }
    case "metrics":
      if (frame.sample) effects.push({ type: "metrics", sample: frame.sample });
      return sync;
    case "error":
      if (frame.ref === `sub:${topic}` && TRANSIENT_REFUSALS.has(frame.code)) {
        // The server could not serve it now (its database, or too many subscribes):
        // drop the socket; the reconnect (with its backoff) subscribes again.
        effects.push({ type: "dropSocket" });
        return { ...sync, phase: "subscribing", awaitingSubscribed: false };
      }
      if (frame.ref === `sub:${topic}`) {
        effects.push({
          type: "notify",
          kind: "warn",
          text: `Live updates were refused: ${sentence(frame.message ?? frame.code)}`,
        });
      }
      return sync;
    default:
      return sync; // pong, and frame types this page does not know
  }
}

// `error` codes of a refused subscribe that a later one may not get.
const TRANSIENT_REFUSALS = new Set(["unavailable", "rate_limited"]);

function sentence(text) {
  const s = String(text ?? "").trim();
  return s === "" || /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * Return {sync, effects} after `input`.
 *
 * Inputs: {type: "cohort", cohortId} (the page switches cohort; its snapshot follows),
 * {type: "snapshot", snapshot, now}, {type: "snapshotFailed", status},
 * {type: "socket", state, code?, now}, {type: "frame", frame, now},
 * {type: "sessionEnded", reason}, {type: "network", online}.
 * Effects: send {frame}, reloadSnapshot, render {changes, live}, renderAll,
 * presence {before}, metrics {sample}, notify {text, kind}, dropSocket, stopSocket,
 * reconnect, sessionEnded {reason}.
 */
export function reduce(sync, input) {
  const effects = [];
  if (sync.phase === "ended") return { sync, effects }; // nothing more until a new sign-in
  let next = sync;
  switch (input.type) {
    case "cohort":
      if (sync.cohortId !== null && sync.cohortId !== input.cohortId && sync.state) {
        effects.push({ type: "send", frame: { type: "unsubscribe", topic: topicOf(sync) } });
      }
      next = { ...sync, cohortId: input.cohortId, state: null, phase: "subscribing", head: null, buffered: [] };
      next.awaitingSubscribed = false;
      break;
    case "snapshot":
      next = onSnapshot(sync, input.snapshot, input.now, effects);
      break;
    case "snapshotFailed":
      if (input.status === 401) {
        next = end(sync, "expired", effects);
      } else {
        // The server went away again (or refused): drop the socket; the next welcome
        // resubscribes, and a still-missing log asks for this reload again, after backoff.
        effects.push({ type: "dropSocket" });
        next = { ...sync, phase: "subscribing", buffered: [], awaitingSubscribed: false };
      }
      break;
    case "socket":
      next = onSocket(sync, input, effects);
      break;
    case "frame":
      next = onFrame(sync, input.frame, input.now, effects);
      break;
    case "sessionEnded":
      next = end(sync, input.reason ?? "expired", effects);
      break;
    case "network":
      next = { ...sync, online: input.online };
      if (input.online) effects.push({ type: "reconnect" });
      break;
    default:
      break;
  }
  return { sync: next, effects };
}
