// The feed's toolbar (filter by kind and by learner) and its pill: "⏸ Paused" while the
// reader is in the feed, "3 new" (a button that shows them) while events are held. The
// toolbar is built at once into a box whose height is reserved in styles.css; the pill
// overlays the top of the list, so neither moves anything when it changes.

import { h, replaceChildren } from "../dom.js";
import { FEED_KINDS, feedFilter, heldLabel } from "../feedfilter.js";

export class FeedTools {
  /** onFilter({kind, learner}) when a select changes; onShowHeld() when "N new" is pressed. */
  constructor(root, { onFilter, onShowHeld }) {
    this.kind = h(
      "select",
      { id: "feed-kind", name: "kind" },
      FEED_KINDS.map((k) => h("option", { value: k.value }, k.label)),
    );
    this.learner = h("select", { id: "feed-learner", name: "learner" }, h("option", { value: "" }, "All learners"));
    const changed = () =>
      onFilter(feedFilter({ kind: this.kind.value, learner: this.learner.value ? Number(this.learner.value) : null }));
    this.kind.addEventListener("change", changed);
    this.learner.addEventListener("change", changed);
    this.held = h("button", { type: "button", id: "feed-new", class: "feed-new", hidden: true, onclick: onShowHeld });
    this.paused = h("span", { class: "feed-paused", hidden: true }, "⏸ Paused");
    /** Placed by the feed above its list. */
    this.pill = h("p", { class: "feed-pill", "aria-live": "polite" }, this.held, this.paused);
    replaceChildren(
      root,
      h("label", { class: "feed-filter" }, h("span", {}, "Show"), this.kind),
      h("label", { class: "feed-filter" }, h("span", {}, "Learner"), this.learner),
    );
  }

  /** List the cohort's learners by name, keeping the one chosen while it is still there. */
  setLearners(state) {
    const chosen = this.learner.value;
    const ids = [...state.order].sort((a, b) => state.learners[a].name.localeCompare(state.learners[b].name));
    replaceChildren(
      this.learner,
      h("option", { value: "" }, "All learners"),
      ids.map((id) => h("option", { value: String(id), selected: String(id) === chosen }, state.learners[id].name)),
    );
  }

  /** Show "N new" while events are held, else "Paused" while paused, else nothing. */
  setHeld(count, paused) {
    const label = heldLabel(count);
    this.held.hidden = count === 0;
    this.held.textContent = label;
    this.held.setAttribute("aria-label", `${label}: show ${count === 1 ? "it" : "them"} at the top of the feed`);
    this.paused.hidden = !(paused && count === 0);
  }
}
