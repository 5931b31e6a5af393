// Per-milestone completion bars and cohort completion over time (a drawn SVG).

import { h, replaceChildren, svg } from "../dom.js";
import { STATUS_LABEL, STATUS_SHAPE, percent } from "../format.js";

const ORDER = ["completed", "submitted", "in_progress", "not_started"];

export function renderBars(root, state) {
  const rows = state.milestones.map((m) => {
    const counts = state.stats.by_milestone[m.slug] ?? {};
    const total = ORDER.reduce((sum, s) => sum + (counts[s] ?? 0), 0) || 1;
    const words = ORDER.map((s) => `${counts[s] ?? 0} ${STATUS_LABEL[s].toLowerCase()}`).join(", ");
    const bar = h(
      "div",
      { class: "bar", role: "img", "aria-label": `${m.title}: ${words}` },
      ORDER.map((s) => {
        const part = h("span", { class: `seg s-${s}`, title: `${STATUS_LABEL[s]}: ${counts[s] ?? 0}` });
        part.style.width = `${((counts[s] ?? 0) / total) * 100}%`;
        return part;
      }),
    );
    return h(
      "li",
      {},
      h("span", { class: "bar-label" }, m.title),
      bar,
      h("span", { class: "bar-value" }, percent((counts.completed ?? 0) / total)),
    );
  });
  const legend = h(
    "p",
    { class: "legend" },
    ORDER.map((s) => h("span", { class: `key s-${s}` }, `${STATUS_SHAPE[s]} ${STATUS_LABEL[s]}`)),
  );
  replaceChildren(root, legend, h("ol", { class: "bars" }, rows));
}

/**
 * Return [[ms, completion]] points: completed cells counted at their last update, per day,
 * from the cohort start to `now`. The snapshot has no history, so this is the
 * "completed by then" curve the cells themselves tell.
 */
export function completionSeries(state, now) {
  const total = state.order.length * state.milestones.length;
  const times = [];
  for (const id of state.order) {
    for (const cell of Object.values(state.learners[id].progress)) {
      if (cell.status === "completed") times.push(Date.parse(cell.updated_at));
    }
  }
  times.sort((a, b) => a - b);
  const start = Math.min(Date.parse(`${state.cohort.start_date}T00:00:00Z`), times[0] ?? now);
  const points = [[start, 0]];
  let done = 0;
  for (const t of times) {
    done += 1;
    points.push([t, total ? done / total : 0]);
  }
  points.push([now, total ? done / total : 0]);
  return points;
}

export function renderTimeline(root, state, now) {
  const points = completionSeries(state, now);
  const width = 600;
  const height = 160;
  const pad = { l: 36, r: 8, t: 8, b: 22 };
  const t0 = points[0][0];
  const t1 = Math.max(points[points.length - 1][0], t0 + 1);
  const maxY = Math.max(0.1, ...points.map((p) => p[1]));
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / maxY) * (height - pad.t - pad.b);
  // A step line: completion only moves when a cell completes.
  let d = `M${x(points[0][0]).toFixed(1)},${y(points[0][1]).toFixed(1)}`;
  for (let i = 1; i < points.length; i += 1) {
    d += ` H${x(points[i][0]).toFixed(1)} V${y(points[i][1]).toFixed(1)}`;
  }
  const last = points[points.length - 1][1];
  const day = (t) => new Date(t).toISOString().slice(0, 10);
  const chart = svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      class: "timeline",
      role: "img",
      "aria-label": `Cohort completion over time: ${percent(last)} now, from 0% on ${day(t0)}`,
      preserveAspectRatio: "none",
    },
    svg("line", { x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0), class: "axis" }),
    svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: y(0), class: "axis" }),
    svg("text", { x: 2, y: y(maxY) + 10, class: "tick" }, percent(maxY)),
    svg("text", { x: 2, y: y(0), class: "tick" }, "0%"),
    svg("text", { x: pad.l, y: height - 4, class: "tick" }, day(t0)),
    svg("text", { x: width - pad.r, y: height - 4, class: "tick", "text-anchor": "end" }, "now"),
    svg("path", { d, class: "line" }),
  );
  replaceChildren(root, chart);
}
