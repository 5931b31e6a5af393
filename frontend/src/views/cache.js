// The cache panel (mentors and staff): hit ratio now and its sparkline, ops/s, latency,
// keys, memory, evictions, and per key family the hit ratio and the time saved.

import { h, replaceChildren, svg } from "../dom.js";
import { bytes, ms, percent } from "../format.js";

// The sparkline's history: one sample every HISTORY_EVERY_S over ten minutes. The REST
// answer is asked for at that rate (a second-by-second history weighed ~540 KB).
export const HISTORY_EVERY_S = 10;
export const HISTORY_SECONDS = 600;
export const HISTORY_LIMIT = HISTORY_SECONDS / HISTORY_EVERY_S;

function ratioOf(sample) {
  return sample?.window?.hit_ratio ?? sample?.hit_ratio ?? null;
}

function spanOf(samples) {
  const seconds = Math.round((Date.parse(samples.at(-1)?.at) - Date.parse(samples[0]?.at)) / 1000);
  if (!Number.isFinite(seconds)) return `${samples.length} samples`;
  return seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
}

function sparkline(samples) {
  const width = 240;
  const height = 40;
  const values = samples.map(ratioOf).filter((v) => typeof v === "number");
  if (values.length < 2) return h("p", { class: "muted small" }, "Collecting samples…");
  const step = width / (values.length - 1);
  const d = values
    .map((v, i) => `${i === 0 ? "M" : "L"}${(i * step).toFixed(1)},${(height - v * height).toFixed(1)}`)
    .join(" ");
  const min = Math.min(...values);
  return svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      class: "sparkline",
      role: "img",
      preserveAspectRatio: "none",
      "aria-label": `Hit ratio over the last ${spanOf(samples)}: lowest ${percent(min)}, now ${percent(values[values.length - 1])}`,
    },
    svg("path", { d, class: "line" }),
  );
}

function savedOf(family) {
  for (const [key, value] of Object.entries(family ?? {})) {
    if (/saved/i.test(key) && typeof value === "number") {
      return /_s$|seconds/i.test(key) ? `${value.toFixed(2)} s` : ms(value);
    }
  }
  return "—";
}

export function renderCache(root, current, history) {
  if (!current) {
    replaceChildren(root, h("p", { class: "muted small" }, "No cache metrics yet."));
    return;
  }
  const stat = (label, value) => h("div", { class: "figure" }, h("dt", {}, label), h("dd", {}, value));
  const families = Object.entries(current.families ?? {});
  replaceChildren(
    root,
    h(
      "dl",
      { class: "figures cache-figures" },
      stat("Hit ratio", ratioOf(current) == null ? "—" : percent(ratioOf(current))),
      stat("Ops/s", current.ops_per_sec == null ? "—" : String(Math.round(current.ops_per_sec * 10) / 10)),
      stat("p50 / p99", `${ms(current.latency_ms?.p50)} / ${ms(current.latency_ms?.p99)}`),
      stat("Keys", current.keys == null ? "—" : String(current.keys)),
      stat("Memory", bytes(current.memory_bytes)),
      stat("Evictions", current.evictions == null ? "—" : String(current.evictions)),
    ),
    current.degraded
      ? h("p", { class: "warn-text small", role: "status" }, "Cache degraded: reads go to the database until it is back.")
      : null,
    sparkline(history),
    h("p", { class: "muted small" }, `Backend: ${current.backend ?? "?"} · all-time hit ratio ${current.hit_ratio == null ? "—" : percent(current.hit_ratio)}`),
    families.length > 0
      ? h(
          "table",
          { class: "families" },
          h("caption", { class: "sr-only" }, "Per key family"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Family"), h("th", { scope: "col" }, "Hit ratio"), h("th", { scope: "col" }, "Time saved"))),
          h(
            "tbody",
            {},
            families.map(([name, f]) =>
              h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, f?.hit_ratio == null ? "—" : percent(f.hit_ratio)), h("td", {}, savedOf(f))),
            ),
          ),
        )
      : null,
  );
}

/** The panel with its samples: the REST history first, then one live sample per frame. */
export class CachePanel {
  /** load() returns a promise of the REST answer ({current, history}). */
  constructor(root, { load }) {
    this.root = root;
    this.load = load;
    this.current = null;
    this.history = [];
  }

  render() {
    renderCache(this.root, this.current, this.history);
  }

  async fetch() {
    try {
      const metrics = await this.load();
      this.current = metrics.current ?? null;
      this.history = (metrics.history ?? []).slice(-HISTORY_LIMIT);
    } catch {
      this.current = null;
    }
    this.render();
  }

  add(sample) {
    this.current = sample;
    // History is kept one sample every HISTORY_EVERY_S, as the REST answer sends it.
    const last = this.history.at(-1);
    if (!last || Date.parse(sample.at) - Date.parse(last.at) >= HISTORY_EVERY_S * 1000) {
      this.history = [...this.history, sample].slice(-HISTORY_LIMIT);
    }
    this.render();
  }
}
