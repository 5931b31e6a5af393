// The staff's program view: every cohort compared at the same week of its program (a
// line chart, with a table that says the same in words), on track and at risk now, and
// the milestones that run the latest. Staff only: nobody else fetches it.

import { errorSentence } from "../api.js";
import { h, replaceChildren, svg } from "../dom.js";
import { percent } from "../format.js";
import { chartTop, defaultWeek, lateWords, weekRows, weekSeries, weeksShown } from "../program.js";

// A line is told apart by its dash and its marker as well as its colour.
const LINES = [
  { color: "#2454c5", dash: "", marker: "circle" },
  { color: "#1d7a46", dash: "7 4", marker: "square" },
  { color: "#a4370b", dash: "2 3", marker: "diamond" },
  { color: "#6b3fa0", dash: "10 3 2 3", marker: "circle" },
  { color: "#8a6100", dash: "4 2", marker: "square" },
];
const lineOf = (i) => LINES[i % LINES.length];

export class ProgramView {
  constructor(root) {
    this.root = root;
    this.overview = null;
    this.week = 0;
  }

  render(overview) {
    this.overview = overview;
    this.week = defaultWeek(overview);
    this.draw();
  }

  draw() {
    const overview = this.overview;
    if (overview.cohorts.length === 0) {
      replaceChildren(this.root, h("p", { class: "muted" }, "No cohort yet."));
      return;
    }
    replaceChildren(
      this.root,
      h("div", { class: "program-charts" }, this.chart(), this.legend()),
      this.weekPicker(),
      this.table(),
      h("h3", { id: "slowest-title" }, "Slowest milestones (median over every cohort)"),
      this.slowest(),
    );
  }

  weekPicker() {
    const weeks = weeksShown(this.overview);
    const select = h(
      "select",
      { id: "program-week" },
      Array.from({ length: weeks }, (_, i) =>
        h("option", { value: String(i + 1), selected: i + 1 === this.week }, `week ${i + 1}`),
      ),
    );
    select.addEventListener("change", () => {
      this.week = Number(select.value);
      this.draw();
      this.root.querySelector("#program-week")?.focus();
    });
    return h(
      "p",
      { class: "program-week" },
      h("label", { for: "program-week" }, "Compare the cohorts at the end of "),
      weeks > 0 ? select : h("span", { class: "muted" }, "(no program week has ended yet)"),
    );
  }

  chart() {
    const width = 600;
    const height = 200;
    const pad = { l: 38, r: 10, t: 10, b: 24 };
    const weeks = Math.max(1, weeksShown(this.overview));
    const top = chartTop(this.overview);
    const x = (w) => pad.l + (w / weeks) * (width - pad.l - pad.r);
    const y = (v) => height - pad.b - (v / top) * (height - pad.t - pad.b);
    const series = weekSeries(this.overview);
    const rows = weekRows(this.overview, this.week);
    const said = rows
      .map((r) => `${r.name} ${r.atWeek === null ? "not there yet" : percent(r.atWeek)}`)
      .join(", ");
    const parts = [
      svg("line", { x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0), class: "axis" }),
      svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: y(0), class: "axis" }),
      svg("text", { x: 2, y: y(top) + 10, class: "tick" }, percent(top)),
      svg("text", { x: 2, y: y(0), class: "tick" }, "0%"),
      svg("text", { x: pad.l, y: height - 4, class: "tick" }, "start"),
      svg("text", { x: width - pad.r, y: height - 4, class: "tick", "text-anchor": "end" }, `week ${weeks}`),
    ];
    if (this.week > 0) {
      parts.push(
        svg("line", { x1: x(this.week), x2: x(this.week), y1: pad.t, y2: y(0), class: "week-mark" }),
        svg("text", { x: x(this.week) + 3, y: pad.t + 9, class: "tick" }, `week ${this.week}`),
      );
    }
    series.forEach((s, i) => {
      const line = lineOf(i);
      const d = s.points.map(([w, v], k) => `${k ? "L" : "M"}${x(w).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      parts.push(svg("path", { d, class: "cohort-line", stroke: line.color, "stroke-dasharray": line.dash || null }));
      for (const [w, v] of s.points.slice(1)) parts.push(marker(line, x(w), y(v)));
    });
    return svg(
      "svg",
      {
        viewBox: `0 0 ${width} ${height}`,
        class: "program-chart",
        role: "img",
        "aria-label": `Completion by program week, one line per cohort. At the end of week ${this.week}: ${said}. The table below gives every figure.`,
      },
      parts,
    );
  }

  legend() {
    return h(
      "ul",
      { class: "program-legend", "aria-label": "Lines" },
      this.overview.cohorts.map((c, i) => {
        const line = lineOf(i);
        const swatch = svg(
          "svg",
          { viewBox: "0 0 30 10", class: "swatch", "aria-hidden": "true" },
          svg("line", { x1: 0, x2: 30, y1: 5, y2: 5, stroke: line.color, "stroke-dasharray": line.dash || null, class: "cohort-line" }),
          marker(line, 15, 5),
        );
        return h("li", {}, swatch, c.name);
      }),
    );
  }

  table() {
    const rows = weekRows(this.overview, this.week);
    const head = ["Cohort", "Week now", `At end of week ${this.week}`, "Completion now", "Expected by now", "On track", "At risk"];
    return h(
      "div",
      { class: "program-table-wrap" },
      h(
        "table",
        { class: "program-table" },
        h("caption", { class: "sr-only" }, `Cohorts at the end of program week ${this.week}, and now`),
        h("thead", {}, h("tr", {}, head.map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)))),
        h(
          "tbody",
          {},
          rows.map((r) =>
            h(
              "tr",
              { dataset: { cohort: String(r.id) } },
              h("th", { scope: "row" }, r.name),
              h("td", { class: "num" }, r.week === 0 ? "not started" : String(r.week)),
              h("td", { class: "num" }, r.atWeek === null ? h("span", { class: "muted" }, "not there yet") : [miniBar(r.atWeek), percent(r.atWeek)]),
              h("td", { class: "num" }, percent(r.completion), r.behind ? h("span", { class: "warn-text" }, " ▼ behind") : null),
              h("td", { class: "num" }, percent(r.expected)),
              h("td", { class: "num ok-text" }, String(r.onTrack)),
              h("td", { class: r.atRisk ? "num warn-text" : "num" }, r.atRisk ? `⚠ ${r.atRisk}` : "0"),
            ),
          ),
        ),
      ),
    );
  }

  slowest() {
    const slow = this.overview.slowest_milestones;
    if (slow.length === 0) return h("p", { class: "muted" }, "No milestone is due yet.");
    return h(
      "ol",
      { class: "slowest", "aria-labelledby": "slowest-title" },
      slow.map((m) => h("li", {}, h("strong", {}, m.title), `: median ${lateWords(m.median_days_late)}`)),
    );
  }
}

/** A bar in the per-milestone chart's style; the figure beside it says the same. */
function miniBar(ratio) {
  const done = h("span", { class: "seg s-completed" });
  done.style.width = `${Math.min(1, Math.max(0, ratio)) * 100}%`;
  return h("span", { class: "bar mini", "aria-hidden": "true" }, done);
}

function marker(line, cx, cy) {
  const attrs = { fill: line.color, class: "marker" };
  if (line.marker === "square") return svg("rect", { ...attrs, x: cx - 3, y: cy - 3, width: 6, height: 6 });
  if (line.marker === "diamond") {
    return svg("path", { ...attrs, d: `M${cx},${cy - 4} L${cx + 4},${cy} L${cx},${cy + 4} L${cx - 4},${cy} Z` });
  }
  return svg("circle", { ...attrs, cx, cy, r: 3 });
}

/** Show the panel and fill it from `load()` (GET /api/program/overview/): staff only. */
export async function showProgram(panel, root, load) {
  panel.hidden = false;
  replaceChildren(root, h("p", { class: "muted" }, "Loading the program…"));
  const view = new ProgramView(root);
  try {
    view.render(await load());
  } catch (error) {
    replaceChildren(root, h("p", { class: "warn-text" }, `The program view could not load. ${errorSentence(error)}`));
  }
  return view;
}
