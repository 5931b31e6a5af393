// One WebSocket per tab (realtime.md): reconnects with backoff and jitter, pings, and
// tells live from stale. It knows frames, not the dashboard: main.js decides what to
// subscribe to (on every `welcome`) and what the frames mean.

export const PING_EVERY_MS = 20_000; // realtime.md: at least every 25 s
export const STALE_AFTER_MS = 30_000; // a missed pong: say so before giving up
export const DEAD_AFTER_MS = 60_000; // realtime.md: nothing for 60 s, the socket is dead
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 15_000;

/**
 * Return the wait before reconnect attempt `attempt` (0 = the first retry).
 *
 * "Equal jitter": half of the capped exponential step is fixed, half random, so a
 * restarted server is not hit by every client at the same instant, yet a client never
 * waits less than half a step. The result lies in [cap / 2, cap], cap = min(max, base * 2^n).
 */
export function backoffDelay(
  attempt,
  { baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS, random = Math.random } = {},
) {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Return the connection's liveness from the time of the last frame received. */
export function liveness(lastReceivedAt, now) {
  const silent = now - lastReceivedAt;
  if (silent >= DEAD_AFTER_MS) return "dead";
  if (silent >= STALE_AFTER_MS) return "stale";
  return "fresh";
}

/** Return the `ws:`/`wss:` URL of `path` on the page's own origin. */
export function socketUrl(location, path = "/ws/live/") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * A self-healing socket.
 *
 * Callbacks: onFrame(frame), onState(state, info) with state one of "connecting",
 * "open" (welcome received), "stale", "down" (closed; info.retryInMs says when the next
 * attempt is). Timers and the socket factory are injectable for tests.
 */
export class LiveSocket {
  constructor({
    url,
    onFrame,
    onState,
    createSocket = (u) => new WebSocket(u),
    now = () => Date.now(),
    timers = globalThis,
    random = Math.random,
  }) {
    this.url = url;
    this.onFrame = onFrame;
    this.onState = onState;
    this.createSocket = createSocket;
    this.now = now;
    this.timers = timers;
    this.random = random;
    this.ws = null;
    this.attempt = 0;
    this.lastReceivedAt = now();
    this.stopped = true;
    this.retryTimer = null;
    this.tickTimer = null;
    this.lastPingAt = 0;
    this.state = "down";
  }

  start() {
    this.stopped = false;
    this.connect();
    this.tickTimer = this.timers.setInterval(() => this.tick(), 1000);
  }

  stop() {
    this.stopped = true;
    this.timers.clearInterval(this.tickTimer);
    this.timers.clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  /** Send a frame if the socket is open; return whether it was sent. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  connect() {
    if (this.stopped) return;
    this.setState("connecting");
    let ws;
    try {
      ws = this.createSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.lastReceivedAt = this.now();
    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      this.lastReceivedAt = this.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "welcome") {
        this.attempt = 0;
        this.setState("open");
      } else if (this.state === "stale") {
        this.setState("open");
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.scheduleRetry({ code: event?.code });
    };
    // An error is always followed by close; the retry is scheduled there.
    ws.onerror = () => {};
  }

  /** Retry after backoff; `info.code` is the close code, so the page can tell 4401. */
  scheduleRetry(info = {}) {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, { random: this.random });
    this.attempt += 1;
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.timers.setTimeout(() => this.connect(), delay);
    // Told after the retry is set, so a listener that stops the socket cancels it.
    this.setState("down", { retryInMs: delay, ...info });
  }

  /** Reconnect now (the user asked, or the page came back online). */
  reconnectNow() {
    if (this.stopped) return;
    this.timers.clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws) {
      this.drop();
    } else {
      this.connect();
    }
  }

  /** Close the current socket as dead and reconnect. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close(4000);
      } catch {
        // Closing a socket that never opened may throw; it is gone either way.
      }
    }
    this.scheduleRetry();
  }

  tick() {
    if (!this.ws) return;
    const now = this.now();
    if (this.ws.readyState === 1 && now - this.lastPingAt >= PING_EVERY_MS) {
      this.lastPingAt = now;
      this.send({ type: "ping" });
    }
    const health = liveness(this.lastReceivedAt, now);
    if (health === "dead") {
      this.drop();
    } else if (health === "stale" && this.state === "open") {
      this.setState("stale");
    }
  }
}
