// The header figures: cohort completion, on track / at risk, time of the last event.

import { replaceChildren, h } from "../dom.js";
import { ago, clockTime, fullTime, percent } from "../format.js";

export function renderSummary(root, state, now) {
  const s = state.stats;
  const figure = (label, value, extra = null, cls = "") =>
    h("div", { class: `figure ${cls}` }, h("dt", {}, label), h("dd", {}, value, extra));
  replaceChildren(
    root,
    h(
      "dl",
      { class: "figures" },
      figure("Completion", percent(s.completion)),
      figure("On track", String(s.on_track), null, "ok"),
      figure("At risk", String(s.at_risk), null, s.at_risk > 0 ? "warn" : ""),
      figure(
        "Last event",
        h("time", { datetime: state.lastEventAt ?? "", title: fullTime(state.lastEventAt) }, clockTime(state.lastEventAt, { zone: true })),
        state.lastEventAt ? h("span", { class: "muted small" }, ` ${ago(state.lastEventAt, now)}`) : null,
      ),
    ),
  );
}
