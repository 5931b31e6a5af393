import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  DEAD_AFTER_MS,
  LiveSocket,
  PING_EVERY_MS,
  backoffDelay,
  liveness,
  socketUrl,
} from "../src/socket.js";

test("backoff grows exponentially within [step/2, step] and is capped", () => {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
    assert.equal(backoffDelay(attempt, { random: () => 0 }), step / 2);
    assert.equal(backoffDelay(attempt, { random: () => 0.999999 }), Math.round(step / 2 + 0.999999 * (step / 2)));
    for (let i = 0; i < 50; i += 1) {
      const delay = backoffDelay(attempt);
      assert.ok(delay >= step / 2 && delay <= step, `${attempt}: ${delay}`);
    }
  }
  assert.equal(backoffDelay(1000, { random: () => 1 }), BACKOFF_MAX_MS);
});

test("backoff is jittered: clients retrying together spread out", () => {
  const delays = new Set(Array.from({ length: 40 }, () => backoffDelay(5)));
  assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
});

test("liveness: fresh, then stale, then dead after 60 s of silence", () => {
  assert.equal(liveness(0, 1000), "fresh");
  assert.equal(liveness(0, 30_000), "stale");
  assert.equal(liveness(0, 59_999), "stale");
  assert.equal(liveness(0, DEAD_AFTER_MS), "dead");
});

test("socket URL follows the page's scheme and host", () => {
  assert.equal(socketUrl({ protocol: "http:", host: "127.0.0.1:8000" }), "ws://127.0.0.1:8000/ws/live/");
  assert.equal(socketUrl({ protocol: "https:", host: "x.example" }), "wss://x.example/ws/live/");
});

// ---- LiveSocket with a fake clock, timers and WebSocket -----------------------------

function harness() {
  let now = 0;
  let nextId = 1;
  const timeouts = new Map();
  const intervals = new Map();
  const timers = {
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timeouts.set(id, { fn, at: now + ms });
      return id;
    },
    clearTimeout: (id) => timeouts.delete(id),
    setInterval: (fn, ms) => {
      const id = nextId++;
      intervals.set(id, { fn, every: ms, next: now + ms });
      return id;
    },
    clearInterval: (id) => intervals.delete(id),
  };
  const sockets = [];
  const states = [];
  const frames = [];
  const createSocket = (url) => {
    const ws = { url, readyState: 0, sent: [], closed: null, send: (d) => ws.sent.push(JSON.parse(d)), close: (code) => { ws.closed = code; } };
    sockets.push(ws);
    return ws;
  };
  const live = new LiveSocket({
    url: "ws://test/ws/live/",
    onFrame: (f) => frames.push(f),
    onState: (s, info) => states.push([s, info]),
    createSocket,
    now: () => now,
    timers,
    random: () => 0.5,
  });
  const advance = (ms) => {
    const end = now + ms;
    while (true) {
      const due = [...timeouts.entries()].map(([id, t]) => [t.at, () => { timeouts.delete(id); t.fn(); }]);
      for (const iv of intervals.values()) due.push([iv.next, () => { iv.next += iv.every; iv.fn(); }]);
      due.sort((a, b) => a[0] - b[0]);
      if (due.length === 0 || due[0][0] > end) break;
      now = due[0][0];
      due[0][1]();
    }
    now = end;
  };
  const open = (ws) => {
    ws.readyState = 1;
    ws.onmessage({ data: JSON.stringify({ type: "welcome", user: { id: 1, name: "A" } }) });
  };
  return { live, sockets, states, frames, advance, open, timers, get now() { return now; } };
}

test("LiveSocket reports open on welcome and passes frames on", () => {
  const t = harness();
  t.live.start();
  t.open(t.sockets[0]);
  t.sockets[0].onmessage({ data: JSON.stringify({ type: "pong" }) });
  t.sockets[0].onmessage({ data: "not json" });
  assert.deepEqual(t.frames.map((f) => f.type), ["welcome", "pong"]);
  assert.equal(t.live.state, "open");
});

test("LiveSocket reconnects with growing jittered delays until a welcome resets them", () => {
  const t = harness();
  t.live.start();
  const waits = [];
  for (let i = 0; i < 4; i += 1) {
    t.sockets.at(-1).onclose();
    const [state, info] = t.states.at(-1);
    assert.equal(state, "down");
    waits.push(info.retryInMs);
    t.advance(info.retryInMs);
  }
  assert.equal(t.sockets.length, 5);
  assert.deepEqual(waits, [0, 1, 2, 3].map((n) => backoffDelay(n, { random: () => 0.5 })));
  t.open(t.sockets.at(-1));
  t.sockets.at(-1).onclose();
  assert.equal(t.states.at(-1)[1].retryInMs, backoffDelay(0, { random: () => 0.5 }));
});

test("LiveSocket pings at least every 25 s while open", () => {
  const t = harness();
  t.live.start();
  t.open(t.sockets[0]);
  t.advance(PING_EVERY_MS * 3 + 1000);
  const pings = t.sockets[0].sent.filter((f) => f.type === "ping");
  assert.ok(pings.length >= 3, `${pings.length} pings`);
  assert.ok(PING_EVERY_MS <= 25_000);
});

test("LiveSocket marks a silent socket stale, then drops it as dead after 60 s and reconnects", () => {
  const t = harness();
  t.live.start();
  t.open(t.sockets[0]);
  t.advance(31_000);
  assert.equal(t.live.state, "stale");
  t.advance(30_000);
  assert.equal(t.sockets[0].closed, 4000);
  assert.ok(t.states.some(([s]) => s === "down"));
  t.advance(BACKOFF_BASE_MS);
  assert.equal(t.sockets.length, 2);
});

test("LiveSocket stays live while pongs keep coming", () => {
  const t = harness();
  t.live.start();
  t.open(t.sockets[0]);
  for (let i = 0; i < 10; i += 1) {
    t.advance(20_000);
    t.sockets[0].onmessage({ data: JSON.stringify({ type: "pong" }) });
  }
  assert.equal(t.live.state, "open");
  assert.equal(t.sockets.length, 1);
});

test("LiveSocket.stop closes and never reconnects", () => {
  const t = harness();
  t.live.start();
  t.open(t.sockets[0]);
  t.live.stop();
  assert.equal(t.sockets[0].closed, 1000);
  t.advance(120_000);
  assert.equal(t.sockets.length, 1);
});
