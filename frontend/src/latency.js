// Delivery latency as this browser sees it: event `at` to the frame it was rendered in.

export const WINDOW_MS = 60_000;

/** Return the `p`-th percentile (0-100) of `values` by nearest rank; null when empty. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A rolling window of latency samples: `add(ms, at)` then `summary(now)`. */
export class LatencyWindow {
  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
    this.samples = [];
  }

  add(latencyMs, at) {
    this.samples.push({ at, ms: Math.max(0, latencyMs) });
  }

  /** Drop samples older than the window and return {count, p50, p95} of the rest. */
  summary(now) {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop].at < from) drop += 1;
    if (drop > 0) this.samples.splice(0, drop);
    const values = this.samples.map((s) => s.ms);
    return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95) };
  }
}
