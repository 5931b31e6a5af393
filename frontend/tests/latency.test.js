import assert from "node:assert/strict";
import { test } from "node:test";

import { LatencyWindow, percentile } from "../src/latency.js";

test("percentile by nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 95), 95);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile([7], 95), 7);
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([30, 10, 20], 50), 20);
});

test("the latency window keeps only the last minute", () => {
  const window = new LatencyWindow(60_000);
  window.add(500, 0);
  for (let i = 1; i <= 20; i += 1) window.add(i * 10, 50_000 + i);
  const early = window.summary(59_000);
  assert.equal(early.count, 21);
  const later = window.summary(61_000);
  assert.equal(later.count, 20);
  assert.equal(later.p50, 100);
  assert.equal(later.p95, 190);
  assert.deepEqual(window.summary(200_000), { count: 0, p50: null, p95: null });
});

test("negative latencies (clock skew) count as zero", () => {
  const window = new LatencyWindow();
  window.add(-5, 1);
  assert.equal(window.summary(2).p50, 0);
});
