// The dashboard page: loads the snapshot, keeps it live over the WebSocket, and wires the
// views. State changes go through state.js (pure); this module owns the side effects.

import { ApiError, api, csrfToken } from "./api.js";
import { LABEL, caughtUpMessage, connectionState } from "./connection.js";
import { h, replaceChildren } from "./dom.js";
import { STATUS_LABEL, clockTime, ms } from "./format.js";
import { LatencyWindow } from "./latency.js";
import { utcDate } from "./risk.js";
import { LiveSocket, socketUrl } from "./socket.js";
import {
  applyEvents,
  applyPresence,
  noChanges,
  presenceFromList,
  refreshRisk,
  stateFromSnapshot,
} from "./state.js";
import { renderCache, HISTORY_LIMIT } from "./views/cache.js";
import { renderBars, renderTimeline } from "./views/charts.js";
import { CellEditor } from "./views/editor.js";
import { FeedView } from "./views/feed.js";
import { MatrixView } from "./views/matrix.js";
import { renderMine } from "./views/mine.js";
import { renderPresence } from "./views/presence.js";
import { renderSummary } from "./views/summary.js";

const $ = (id) => document.getElementById(id);

const app = {
  me: null,
  cohorts: [],
  cohortId: null,
  role: null, // "mentor" | "learner" | "staff"
  learnerId: null,
  state: null,
  socket: null,
  socketState: "connecting",
  everConnected: false,
  sync: {
    phase: "subscribing", // subscribing | catching-up | reloading | live
    head: null,
    awaitingSubscribed: false,
    offlineSince: null,
    caught: 0,
    buffered: [],
  },
  latency: new LatencyWindow(),
  cache: { allowed: false, current: null, history: [] },
  pendingRender: null,
  lastTimeline: 0,
  timelineDirty: false,
};

const topic = () => `cohort:${app.cohortId}`;

// --------------------------------------------------------------------------------------
// Notices
// --------------------------------------------------------------------------------------

let noticeTimer = null;

function notify(text, kind = "info", holdMs = 15_000) {
  const el = $("notice");
  el.className = `notice ${kind}`;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    el.hidden = true;
  }, holdMs);
}

// --------------------------------------------------------------------------------------
// Rendering
// --------------------------------------------------------------------------------------

function canEdit(learnerId) {
  if (app.role === "mentor" || app.role === "staff") return "mentor";
  if (app.role === "learner" && learnerId === app.learnerId) return "own";
  return false;
}

const onlineUsers = () => new Set((app.state?.presence ?? []).map((e) => e.user.id));
const onlineNames = () => new Set((app.state?.presence ?? []).map((e) => e.user.name));

const matrix = new MatrixView($("matrix"), {
  canEdit,
  // A learner added live carries no user id (learner.added has none): match by name then.
  isOnline: (learner) =>
    learner.user !== null ? onlineUsers().has(learner.user) : onlineNames().has(learner.name),
  onActivate: (learnerId, slug, anchor) => openEditor(learnerId, slug, anchor),
});

const editor = new CellEditor($("editor"), { onSave: (change) => saveCell(change) });

const feed = new FeedView($("feed"), {
  onKudos: (seq) => giveKudos(seq),
  onComment: (seq, text) => addComment(seq, text),
});

function renderAll() {
  const started = performance.now();
  const state = app.state;
  $("cohort-title").textContent = `${state.cohort.name} · ${state.cohort.program}`;
  matrix.render(state);
  feed.render(state);
  renderStatsViews(true);
  renderPresence($("presence"), state, app.me);
  renderCache($("cache"), app.cache.current, app.cache.history);
  performance.measure("dashboard.render-all", { start: started, end: performance.now() });
}

function renderStatsViews(withTimeline) {
  const state = app.state;
  const now = Date.now();
  renderSummary($("summary"), state, now);
  renderBars($("bars"), state);
  // The timeline walks every cell: at most once a second; the footer tick draws a late one.
  if (withTimeline || now - app.lastTimeline > 1000) {
    app.lastTimeline = now;
    app.timelineDirty = false;
    renderTimeline($("timeline"), state, now);
  } else {
    app.timelineDirty = true;
  }
  const mine = $("mine-panel");
  mine.hidden = app.role !== "learner";
  if (app.role === "learner") {
    renderMine($("mine"), state, app.learnerId, {
      today: utcDate(now),
      onMove: (slug, status) => saveCell({ learnerId: app.learnerId, slug, status, score: null }),
    });
  }
}

// Changes are merged and drawn once per frame; a timer backs up requestAnimationFrame,
// which a hidden tab does not run.
const queued = { changes: noChanges(), live: [] };

function scheduleRender(changes, liveEvents = []) {
  const q = queued.changes;
  q.cells.push(...changes.cells);
  q.learners.push(...changes.learners);
  q.added.push(...changes.added);
  q.feed.push(...changes.feed);
  q.counts.push(...changes.counts);
  q.cohort ||= changes.cohort;
  q.stats ||= changes.stats;
  queued.live.push(...liveEvents);
  if (app.pendingRender) return;
  const flush = () => {
    if (!app.pendingRender) return;
    cancelAnimationFrame(app.pendingRender.frame);
    clearTimeout(app.pendingRender.timer);
    app.pendingRender = null;
    flushRender();
  };
  app.pendingRender = { frame: requestAnimationFrame(flush), timer: setTimeout(flush, 100) };
}

function flushRender() {
  // A User Timing measure per frame of updates: visible in DevTools and to the browser tests.
  const started = performance.now();
  const changes = queued.changes;
  const live = queued.live;
  queued.changes = noChanges();
  queued.live = [];
  const state = app.state;
  matrix.update(state, changes);
  feed.update(state, changes);
  if (changes.cohort) $("cohort-title").textContent = `${state.cohort.name} · ${state.cohort.program}`;
  renderStatsViews(changes.cohort);
  if (changes.learners.length > 0 || changes.added.length > 0) {
    renderPresence($("presence"), state, app.me);
  }
  const renderedAt = Date.now();
  for (const event of live) {
    const at = Date.parse(event.at);
    if (Number.isFinite(at)) app.latency.add(renderedAt - at, renderedAt);
  }
  performance.measure("dashboard.render", { start: started, end: performance.now() });
}

function renderConnection() {
  const label = connectionState({
    socket: app.socketState,
    phase: app.sync.phase,
    everConnected: app.everConnected,
  });
  const badge = $("connection");
  badge.dataset.state = label;
  badge.textContent = LABEL[label];
  document.body.dataset.connection = label;
  const banner = $("stale-banner");
  const notLive = label !== "live";
  banner.hidden = !notLive || !app.state;
  if (notLive) {
    banner.textContent =
      label === "catching-up"
        ? "Catching up on missed events…"
        : `Not live: showing the cohort as of ${clockTime(app.state?.lastEventAt)} (last event).`;
  }
}

function renderFooter() {
  const { count, p50, p95 } = app.latency.summary(Date.now());
  $("latency").textContent =
    count === 0
      ? "Delivery latency: no live events in the last minute"
      : `Delivery latency (event to screen, last minute, ${count} events): p50 ${ms(p50)} · p95 ${ms(p95)}`;
  $("seq").textContent = app.state ? `seq ${app.state.seq}` : "";
}

// --------------------------------------------------------------------------------------
// Writes: optimistic, rolled back on refusal
// --------------------------------------------------------------------------------------

function openEditor(learnerId, slug, anchor) {
  const learner = app.state.learners[learnerId];
  const milestone = app.state.milestones.find((m) => m.slug === slug);
  const pending = matrix.pending.get(`${learnerId}:${slug}`);
  const cell = { ...(pending ?? learner.progress[slug]), version: shownVersion(learnerId, slug) };
  const role = canEdit(learnerId) === "mentor" ? "mentor" : "learner";
  if (role === "learner" && cell.status === "completed") {
    notify(`${milestone.title} is completed: only a mentor can reopen it.`);
    return;
  }
  editor.open({ learner, milestone, cell, role, anchor });
}

/** Return the version of the value a cell shows: a saved value awaiting its event counts. */
function shownVersion(learnerId, slug) {
  const confirmed = app.state.learners[learnerId].progress[slug];
  const awaited = matrix.pending.get(`${learnerId}:${slug}`)?.awaitVersion ?? 0;
  return Math.max(confirmed.version, awaited);
}

async function saveCell({ learnerId, slug, status, score, version = shownVersion(learnerId, slug) }) {
  const learner = app.state.learners[learnerId];
  const milestone = app.state.milestones.find((m) => m.slug === slug);
  const body = { status, version };
  if (canEdit(learnerId) === "mentor" && status === "completed") body.score = score;
  matrix.setPending(learnerId, slug, { status, score: status === "completed" ? score : null });
  try {
    const result = await api.progress(app.cohortId, learnerId, slug, body);
    // Keep showing the saved value until its event lands in the state.
    matrix.setPending(learnerId, slug, {
      status: result.status,
      score: result.score,
      awaitVersion: result.version,
    });
    notify(`Saved: ${learner.name} · ${milestone.title} is ${STATUS_LABEL[result.status]}.`, "ok", 4000);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.body?.current) {
      const current = error.body.current;
      matrix.setPending(learnerId, slug, {
        status: current.status,
        score: current.score,
        awaitVersion: current.version,
      });
      matrix.flash(learnerId, slug, "conflict");
      notify(
        `Not saved: ${learner.name} · ${milestone.title} was changed meanwhile; it is now ${STATUS_LABEL[current.status]}${current.score != null ? ` (${current.score})` : ""}.`,
        "warn",
      );
    } else {
      matrix.setPending(learnerId, slug, null);
      matrix.flash(learnerId, slug, "refused");
      notify(`Not saved: ${error.message}`, "warn");
    }
  }
}

async function giveKudos(seq) {
  try {
    const result = await api.kudos(app.cohortId, seq);
    feed.showKudos(seq, result.kudos);
  } catch (error) {
    notify(`Kudos not given: ${error.message}`, "warn");
  }
}

async function addComment(seq, text) {
  try {
    await api.comment(app.cohortId, seq, text);
  } catch (error) {
    notify(`Comment not sent: ${error.message}`, "warn");
    throw error;
  }
}

// --------------------------------------------------------------------------------------
// Live: subscribe, apply, recover
// --------------------------------------------------------------------------------------

function subscribeCohort() {
  if (!app.state) return;
  app.sync.awaitingSubscribed = true;
  app.sync.head = null;
  if (app.sync.phase !== "reloading") app.sync.phase = "catching-up";
  app.socket.send({ type: "subscribe", topic: topic(), since: app.state.seq, ref: `sub:${topic()}` });
  renderConnection();
}

function resubscribe() {
  if (app.sync.awaitingSubscribed) return; // a resubscribe is already on its way
  app.socket.send({ type: "unsubscribe", topic: topic() });
  subscribeCohort();
}

function markLive() {
  const wasOffline = app.sync.offlineSince;
  app.sync.phase = "live";
  if (wasOffline !== null) {
    notify(caughtUpMessage({ events: app.sync.caught, offlineMs: Date.now() - wasOffline }), "ok");
  }
  app.sync.offlineSince = null;
  app.sync.caught = 0;
  app.everConnected = true;
  renderConnection();
}

function ingest(events) {
  const live = app.sync.phase === "live";
  const result = applyEvents(app.state, events);
  app.state = result.state;
  if (!live) app.sync.caught += result.applied;
  const applied = result.changes.feed;
  scheduleRender(result.changes, live ? applied : []);
  if (result.gap) {
    if (!app.sync.awaitingSubscribed) resubscribe();
    return;
  }
  if (app.sync.phase === "catching-up" && app.sync.head !== null && app.state.seq >= app.sync.head) {
    markLive();
  }
}

async function reloadSnapshot() {
  const since = app.state.seq;
  app.sync.phase = "reloading";
  app.sync.buffered = [];
  renderConnection();
  let snapshot;
  try {
    snapshot = await api.snapshot(app.cohortId);
  } catch {
    // The server went away again (or refused): drop the socket; the next welcome
    // resubscribes, and a still-missing log asks for this reload again, after backoff.
    app.sync.phase = "subscribing";
    app.sync.buffered = [];
    app.socket.drop();
    return;
  }
  const presence = app.state.presence;
  app.state = { ...stateFromSnapshot(snapshot), presence };
  renderAll();
  const buffered = app.sync.buffered;
  const missed = Math.max(0, snapshot.seq - since);
  const offline = app.sync.offlineSince;
  app.sync.buffered = [];
  app.sync.head = app.state.seq;
  app.sync.phase = "live";
  app.sync.offlineSince = null;
  app.sync.caught = 0;
  app.everConnected = true;
  ingest(buffered);
  notify(caughtUpMessage({ events: missed, offlineMs: offline === null ? 0 : Date.now() - offline, reloaded: true }), "ok");
  renderConnection();
}

function onFrame(frame) {
  switch (frame.type) {
    case "welcome":
      subscribeCohort();
      if (app.cache.allowed) app.socket.send({ type: "subscribe", topic: "metrics:cache", ref: "sub:metrics" });
      break;
    case "subscribed":
      if (frame.topic === topic()) onSubscribed(frame);
      break;
    case "event":
    case "events": {
      if (frame.topic !== topic() || !app.state) return;
      const events = frame.type === "event" ? [frame.event] : (frame.events ?? []);
      if (app.sync.phase === "reloading") app.sync.buffered.push(...events);
      else ingest(events);
      break;
    }
    case "presence":
      if (frame.topic === topic() && app.state) onPresence(applyPresence(app.state.presence, frame.joins, frame.leaves));
      break;
    case "metrics":
      if (frame.sample) {
        app.cache.current = frame.sample;
        app.cache.history = [...app.cache.history, frame.sample].slice(-HISTORY_LIMIT);
        renderCache($("cache"), app.cache.current, app.cache.history);
      }
      break;
    case "error":
      if (frame.ref === `sub:${topic()}`) notify(`Live updates refused: ${frame.message ?? frame.code}`, "warn");
      break;
    default:
      break; // pong, and frame types this page does not know
  }
}

function onSubscribed(frame) {
  app.sync.awaitingSubscribed = false;
  onPresence(presenceFromList(frame.presence ?? []));
  if (frame.recovered === false) {
    reloadSnapshot();
    return;
  }
  // Recovered: the replay that follows covers everything after state.seq.
  app.sync.phase = "catching-up";
  app.sync.buffered = [];
  app.sync.head = typeof frame.seq === "number" ? frame.seq : app.state.seq;
  if (app.state.seq >= app.sync.head) markLive();
  else renderConnection();
}

function onPresence(presence) {
  const online = (learner) =>
    learner.user !== null ? onlineUsers().has(learner.user) : onlineNames().has(learner.name);
  const before = new Set(app.state.order.filter((id) => online(app.state.learners[id])));
  app.state = { ...app.state, presence };
  const changed = app.state.order.filter(
    (id) => before.has(id) !== online(app.state.learners[id]),
  );
  matrix.refreshRows(app.state, changed);
  renderPresence($("presence"), app.state, app.me);
}

function onSocketState(state) {
  app.socketState = state;
  if ((state === "down" || state === "connecting") && app.sync.offlineSince === null && app.everConnected) {
    app.sync.offlineSince = Date.now();
  }
  if (state === "down" || state === "connecting") {
    app.sync.phase = app.sync.phase === "reloading" ? "reloading" : "subscribing";
    app.sync.awaitingSubscribed = false;
  }
  renderConnection();
}

// --------------------------------------------------------------------------------------
// Start
// --------------------------------------------------------------------------------------

async function loadCohort(cohortId) {
  if (app.cohortId !== null && app.cohortId !== cohortId && app.socket) {
    app.socket.send({ type: "unsubscribe", topic: topic() });
  }
  app.cohortId = cohortId;
  const membership = app.me.memberships.find((m) => m.cohort === cohortId);
  app.role = membership?.role ?? (app.me.is_staff ? "staff" : null);
  app.learnerId = membership?.learner ?? null;
  document.body.dataset.role = app.role ?? "";
  history.replaceState(null, "", `#cohort=${cohortId}`);
  app.state = stateFromSnapshot(await api.snapshot(cohortId));
  app.sync.phase = "subscribing";
  renderAll();
  renderConnection();
  if (app.socket?.state === "open" || app.socket?.state === "stale") subscribeCohort();
}

function buildPicker() {
  const picker = $("cohort-picker");
  replaceChildren(
    picker,
    app.cohorts.map((c) =>
      h("option", { value: String(c.id), selected: c.id === app.cohortId }, `${c.name} (${c.learner_count} learners)`),
    ),
  );
  picker.addEventListener("change", () => loadCohort(Number(picker.value)));
}

async function loadCache() {
  try {
    const metrics = await api.cacheMetrics();
    app.cache.current = metrics.current ?? null;
    app.cache.history = (metrics.history ?? []).slice(-HISTORY_LIMIT);
  } catch {
    app.cache.current = null;
  }
  renderCache($("cache"), app.cache.current, app.cache.history);
}

async function boot() {
  $("logout-form").addEventListener("submit", () => {
    $("logout-csrf").value = csrfToken();
  });
  app.me = await api.me();
  $("whoami").textContent = app.me.name;
  app.cohorts = await api.cohorts();
  if (app.cohorts.length === 0) {
    $("cohort-title").textContent = "You are not in any cohort yet.";
    return;
  }
  const fromHash = Number(new URLSearchParams(location.hash.slice(1)).get("cohort"));
  const first = app.cohorts.find((c) => c.id === fromHash) ?? app.cohorts[0];
  app.cohortId = first.id;
  buildPicker();
  app.cache.allowed = app.me.is_staff || app.me.memberships.some((m) => m.role === "mentor");
  $("cache-panel").hidden = !app.cache.allowed;
  app.socket = new LiveSocket({
    url: socketUrl(location),
    onFrame,
    onState: onSocketState,
  });
  app.cohortId = null;
  await loadCohort(first.id);
  if (app.cache.allowed) loadCache();
  app.socket.start();
  renderFooter();
  window.addEventListener("online", () => app.socket.reconnectNow());
  setInterval(() => {
    renderFooter();
    if (!app.state) return;
    renderSummary($("summary"), app.state, Date.now());
    if (app.timelineDirty) {
      app.timelineDirty = false;
      app.lastTimeline = Date.now();
      renderTimeline($("timeline"), app.state, Date.now());
    }
  }, 1000);
  setInterval(() => feed.tick(Date.now()), 15_000);
  setInterval(() => {
    if (!app.state) return;
    const { state, changed } = refreshRisk(app.state, Date.now());
    if (changed.length === 0) return;
    app.state = state;
    matrix.refreshRows(state, changed);
    renderStatsViews(false);
    renderPresence($("presence"), state, app.me);
  }, 60_000);
}

boot().catch((error) => {
  notify(`The dashboard could not load: ${error.message}`, "warn", 600_000);
});
