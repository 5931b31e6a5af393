// The dashboard page: wires the views, the socket and the REST calls to the sync reducer
// (sync.js), and carries out the effects it returns. What happens on a frame, a reconnect
// or a refusal is decided there; this module only does it.

import { ApiError, api, csrfToken, errorSentence } from "./api.js";
import { ms } from "./format.js";
import { LatencyWindow } from "./latency.js";
import { createNavigation } from "./navigation.js";
import { utcDate } from "./risk.js";
import { LiveSocket, socketUrl } from "./socket.js";
import { mergeChanges, noChanges, refreshRisk } from "./state.js";
import { badgeOf, initialSync, isLive, reduce } from "./sync.js";
import { watchSession } from "./session.js";
import { createWrites } from "./writes.js";
import { CachePanel } from "./views/cache.js";
import { renderBars, renderTimeline } from "./views/charts.js";
import { CellEditor } from "./views/editor.js";
import { showExport, watchPrint } from "./views/export.js";
import { FeedView } from "./views/feed.js";
import { FilterBar } from "./views/filterbar.js";
import { LearnerPanel } from "./views/learner.js";
import { MatrixView } from "./views/matrix.js";
import { renderMine } from "./views/mine.js";
import { renderPresence } from "./views/presence.js";
import { showProgram } from "./views/program.js";
import { notify, renderConnection, renderSessionEnded } from "./views/status.js";
import { renderSummary } from "./views/summary.js";

const $ = (id) => document.getElementById(id);

const app = {
  me: null,
  cohorts: [],
  role: null, // "mentor" | "learner" | "staff"
  learnerId: null,
  sync: initialSync(),
  socket: null,
  latency: new LatencyWindow(),
  cacheAllowed: false,
  pendingRender: null,
  queued: { changes: noChanges(), live: [] },
  lastTimeline: 0,
  timelineDirty: false,
};

const state = () => app.sync.state;

// --------------------------------------------------------------------------------------
// Views
// --------------------------------------------------------------------------------------

function canEdit(learnerId) {
  if (app.role === "mentor" || app.role === "staff") return "mentor";
  if (app.role === "learner" && learnerId === app.learnerId) return "own";
  return false;
}

// Mentors and staff see every learner's risk and activity; a learner only their own.
const seesAll = () => app.role === "mentor" || app.role === "staff";

// A learner added live carries no user id (learner.added has none): matched by name then.
function isOnline(learner) {
  const presence = state()?.presence ?? [];
  return learner.user !== null
    ? presence.some((e) => e.user.id === learner.user)
    : presence.some((e) => e.user.name === learner.name);
}

const matrix = new MatrixView($("matrix"), {
  canEdit,
  isOnline,
  onActivate: (learnerId, slug, anchor) => writes.openEditor(learnerId, slug, anchor),
  onLearner: (learnerId, button) => nav.openLearner(learnerId, button),
  onFiltered: (shown, total) => nav.counted(shown, total),
});
const editor = new CellEditor($("editor"), {
  onSave: (change) => writes.saveCell(change),
  onRestore: (change) => writes.saveCell({ ...change, kind: "restore" }),
});
const panel = new LearnerPanel($("learner-panel"), {
  loadTimeline: (learnerId, before) => api.timeline(app.sync.cohortId, learnerId, { before }),
  mayReadTimeline: (learnerId) => seesAll() || learnerId === app.learnerId,
  mayEdit: seesAll,
  onHistory: (learnerId, slug, button) => writes.openEditor(learnerId, slug, button, { showHistory: true }),
  onClose: () => nav.closeLearner(),
});
const cache = new CachePanel($("cache"), { load: () => api.cacheMetrics() });
const feed = new FeedView($("feed"), {
  tools: $("feed-tools"),
  onKudos: (seq) => writes.giveKudos(seq),
  onComment: (seq, text) => writes.addComment(seq, text),
});
const writes = createWrites({
  state,
  cohortId: () => app.sync.cohortId,
  canEdit,
  live: () => isLive(app.sync),
  matrix,
  feed,
  editor,
  notify,
  sessionCheck: (error) => checkSession(error),
});
const nav = createNavigation({
  cohorts: () => app.cohorts,
  cohortId: () => app.sync.cohortId,
  state,
  canSeeRisk: seesAll,
  loadCohort: (cohortId) => loadCohort(cohortId),
  matrix,
  filterBar: new FilterBar($("filters"), { onChange: (filter, how) => nav.filterChanged(filter, how) }),
  panel,
  picker: $("cohort-picker"),
  notify,
});

// The page's content shows once there is something in it, or something to say (styles.css).
const reveal = () => delete document.body.dataset.loading;

function renderAll() {
  const started = performance.now();
  const s = state();
  $("cohort-title").textContent = `${s.cohort.name} · ${s.cohort.program}`;
  matrix.render(s);
  feed.render(s);
  renderStatsViews(true);
  renderPresence($("presence"), s, app.me);
  cache.render();
  nav.refresh();
  reveal();
  performance.measure("dashboard.render-all", { start: started, end: performance.now() });
}

function renderStatsViews(withTimeline) {
  const s = state();
  const now = Date.now();
  renderSummary($("summary"), s, now);
  renderBars($("bars"), s);
  // The timeline walks every cell: at most once a second; the footer tick draws a late one.
  if (withTimeline || now - app.lastTimeline > 1000) {
    app.lastTimeline = now;
    app.timelineDirty = false;
    renderTimeline($("timeline"), s, now);
  } else {
    app.timelineDirty = true;
  }
  if (app.role === "learner") {
    renderMine($("mine"), s, app.learnerId, {
      today: utcDate(now),
      onMove: (slug, status) => writes.saveCell({ learnerId: app.learnerId, slug, status, score: null }),
    });
  }
}

// Changes are merged and drawn once per frame; a timer backs up requestAnimationFrame,
// which a hidden tab does not run.
function scheduleRender(changes, liveEvents) {
  mergeChanges(app.queued.changes, changes);
  app.queued.live.push(...liveEvents);
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
  const { changes, live } = app.queued;
  app.queued = { changes: noChanges(), live: [] };
  const s = state();
  if (!s) return;
  matrix.update(s, changes);
  feed.update(s, changes);
  if (changes.cohort) $("cohort-title").textContent = `${s.cohort.name} · ${s.cohort.program}`;
  renderStatsViews(changes.cohort);
  if (changes.learners.length > 0 || changes.added.length > 0) renderPresence($("presence"), s, app.me);
  nav.changed(s, changes);
  const renderedAt = Date.now();
  for (const event of live) {
    const at = Date.parse(event.at);
    if (Number.isFinite(at)) app.latency.add(renderedAt - at, renderedAt);
  }
  performance.measure("dashboard.render", { start: started, end: performance.now() });
}

function renderPresenceChange(before) {
  const s = state();
  const was = (learner) =>
    learner.user !== null ? before.some((e) => e.user.id === learner.user) : before.some((e) => e.user.name === learner.name);
  const changed = s.order.filter((id) => was(s.learners[id]) !== isOnline(s.learners[id]));
  matrix.refreshRows(s, changed);
  renderPresence($("presence"), s, app.me);
}

function renderFooter() {
  const { count, p50, p95 } = app.latency.summary(Date.now());
  $("latency").textContent =
    count === 0
      ? "Delivery latency: no live events in the last minute"
      : `Delivery latency (event to screen, last minute, ${count} events): p50 ${ms(p50)} · p95 ${ms(p95)}`;
  $("seq").textContent = state() ? `seq ${state().seq}` : "";
}

// --------------------------------------------------------------------------------------
// The reducer and its effects
// --------------------------------------------------------------------------------------

function dispatch(input) {
  const { sync, effects } = reduce(app.sync, { now: Date.now(), ...input });
  app.sync = sync;
  for (const effect of effects) perform(effect);
  renderConnection(badgeOf(app.sync), state());
}

function perform(effect) {
  switch (effect.type) {
    case "send":
      app.socket?.send(effect.frame);
      break;
    case "render":
      scheduleRender(effect.changes, effect.live);
      break;
    case "renderAll":
      renderAll();
      break;
    case "presence":
      renderPresenceChange(effect.before);
      break;
    case "metrics":
      cache.add(effect.sample);
      break;
    case "notify":
      notify(effect.text, effect.kind);
      break;
    case "reloadSnapshot":
      reloadSnapshot();
      break;
    case "dropSocket":
      app.socket?.drop();
      break;
    case "stopSocket":
      app.socket?.stop();
      break;
    case "reconnect":
      app.socket?.reconnectNow();
      break;
    case "sessionEnded":
      renderSessionEnded(effect.reason, app.sync.cohortId);
      break;
    default:
      break;
  }
}

async function reloadSnapshot() {
  const cohortId = app.sync.cohortId;
  try {
    const snapshot = await api.snapshot(cohortId);
    if (app.sync.cohortId === cohortId) dispatch({ type: "snapshot", snapshot });
  } catch (error) {
    dispatch({ type: "snapshotFailed", status: error instanceof ApiError ? error.status : 0 });
  }
}

/** Tell the reducer when a refusal means the session is gone (a 401, or a 403 after it). */
async function checkSession(error) {
  if (!(error instanceof ApiError)) return;
  if (error.status === 401) {
    dispatch({ type: "sessionEnded", reason: "expired" });
  } else if (error.status === 403) {
    await verifySession();
  }
}

async function verifySession(reason = "expired") {
  if (app.sync.phase === "ended") return;
  try {
    await api.me();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      dispatch({ type: "sessionEnded", reason });
    }
  }
}

// --------------------------------------------------------------------------------------
// Cohorts
// --------------------------------------------------------------------------------------

async function loadCohort(cohortId) {
  dispatch({ type: "cohort", cohortId });
  const membership = app.me.memberships.find((m) => m.cohort === cohortId);
  app.role = membership?.role ?? (app.me.is_staff ? "staff" : null);
  app.learnerId = membership?.learner ?? null;
  document.body.dataset.role = app.role ?? "";
  $("mine-panel").hidden = app.role !== "learner";
  showExport($("export-csv"), app.role, cohortId);
  try {
    const snapshot = await api.snapshot(cohortId);
    if (app.sync.cohortId === cohortId) dispatch({ type: "snapshot", snapshot });
  } catch (error) {
    await checkSession(error);
    if (app.sync.phase !== "ended") throw error;
  }
}

// --------------------------------------------------------------------------------------
// Start
// --------------------------------------------------------------------------------------

function startTimers() {
  setInterval(() => {
    renderFooter();
    if (!state()) return;
    renderSummary($("summary"), state(), Date.now());
    if (app.timelineDirty) {
      app.timelineDirty = false;
      app.lastTimeline = Date.now();
      renderTimeline($("timeline"), state(), Date.now());
    }
  }, 1000);
  setInterval(() => feed.tick(Date.now()), 15_000);
  setInterval(() => {
    if (!state()) return;
    matrix.tick(); // a new day: due dates and this week's column move on
    const { state: judged, changed } = refreshRisk(state(), Date.now());
    if (changed.length === 0) return;
    app.sync = { ...app.sync, state: judged };
    matrix.refreshRows(judged, changed);
    panel.update(judged, { ...noChanges(), learners: changed });
    renderStatsViews(false);
    renderPresence($("presence"), judged, app.me);
  }, 60_000);
}

async function boot() {
  watchSession({
    form: $("logout-form"),
    onLogout: () => {
      $("logout-csrf").value = csrfToken();
    },
    onEnded: (reason) => dispatch({ type: "sessionEnded", reason }),
    onVisible: () => verifySession(),
    onNetwork: (online) => dispatch({ type: "network", online }),
  });
  watchPrint($("print-stamp"), () => state()?.cohort.name);
  app.me = await api.me();
  $("whoami").textContent = app.me.name;
  app.cohorts = await api.cohorts();
  if (app.cohorts.length === 0) {
    $("cohort-title").textContent = "You are not in any cohort yet.";
    reveal();
    return;
  }
  const first = nav.start();
  app.cacheAllowed = app.me.is_staff || app.me.memberships.some((m) => m.role === "mentor");
  $("cache-panel").hidden = !app.cacheAllowed;
  app.sync = initialSync({ metrics: app.cacheAllowed, online: navigator.onLine !== false });
  app.socket = new LiveSocket({
    url: socketUrl(location),
    onFrame: (frame) => dispatch({ type: "frame", frame }),
    onState: (socketState, info) => dispatch({ type: "socket", state: socketState, code: info?.code }),
  });
  await loadCohort(first);
  if (app.cacheAllowed) cache.fetch();
  if (app.me.is_staff) showProgram($("program-panel"), $("program"), api.programOverview);
  app.socket.start();
  renderFooter();
  startTimers();
}

boot().catch(async (error) => {
  reveal();
  await checkSession(error);
  if (app.sync.phase !== "ended") notify(`The dashboard could not load. ${errorSentence(error)}`, "warn", 600_000);
});
