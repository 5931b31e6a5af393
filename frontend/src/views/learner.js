// The drill-down side panel: one learner's story. Their completion, risk and reasons
// (where the viewer may know them: a learner knows only their own), their milestones with
// due dates and scores, and the timeline of every event about them (GET .../timeline/),
// kept live: an event about them that lands is added at the top. A non-modal <dialog>: the
// matrix stays usable beside it; Escape or "Close" closes it and focus goes back to what
// opened it.

import { errorSentence } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { STATUS_LABEL, cellText, dayDate, dayTime, eventSummary, fullTime, percent } from "../format.js";
import { utcDate } from "../risk.js";
import { mergeEvents, storyOf, subjectOf } from "../story.js";

export class LearnerPanel {
  /**
   * root: the <dialog>; loadTimeline(learnerId, before) returns a promise of the timeline
   * answer ({results, next}); mayReadTimeline(learnerId): whether this viewer may read it
   * (mentors, staff, the learner themself); onHistory(learnerId, slug, button): open that
   * cell with its history, offered when mayEdit() (mentors and staff); onClose(): the
   * person asked to close.
   */
  constructor(root, { loadTimeline, mayReadTimeline, mayEdit, onHistory, onClose, now = () => Date.now() }) {
    this.root = root;
    this.loadTimeline = loadTimeline;
    this.mayReadTimeline = mayReadTimeline;
    this.mayEdit = mayEdit;
    this.onHistory = onHistory;
    this.onClose = onClose;
    this.now = now;
    this.learnerId = null;
    this.state = null;
    this.token = 0;
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      this.onClose();
    });
  }

  /** Return the id of the learner shown, or null when the panel is closed. */
  get openId() {
    return this.root.open ? this.learnerId : null;
  }

  /** Show learner `learnerId` of `state`; focus goes to the panel, and later to `returnFocus`. */
  open(state, learnerId, returnFocus) {
    this.state = state;
    this.learnerId = learnerId;
    this.returnFocus = returnFocus;
    this.events = [];
    this.next = null;
    this.pagedOlder = false;
    this.token += 1;
    this.title = h("h2", { id: "learner-title", tabindex: "-1" });
    this.figures = h("p", { class: "story-figures" });
    this.risk = h("p");
    this.milestones = new Map(); // slug -> {li, shape, text, due}
    const list = h(
      "ol",
      { class: "story-milestones", "aria-label": "Milestones" },
      state.milestones.map((m) => this.buildMilestone(m)),
    );
    this.status = h("p", { class: "muted small story-status", role: "status" });
    this.timeline = h("ol", { class: "story-timeline", "aria-label": "Activity, newest first" });
    this.older = h("button", { type: "button", class: "secondary small", hidden: true, onclick: () => this.fetch(this.next) }, "Show older activity");
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "drawer-head" },
        this.title,
        h("button", { type: "button", class: "secondary small", onclick: () => this.onClose() }, "✕ Close"),
      ),
      h(
        "div",
        { class: "drawer-body" },
        this.figures,
        this.risk,
        h("h3", {}, "Milestones"),
        list,
        h("h3", {}, "Activity"),
        this.status,
        this.timeline,
        this.older,
      ),
    );
    this.fillStory();
    if (this.mayReadTimeline(learnerId)) this.fetch(null);
    else {
      const name = state.learners[learnerId]?.name ?? "This learner";
      this.status.textContent = `${name}'s activity, scores and risk are for them and their mentors to see.`;
    }
    if (!this.root.open) this.root.show();
    this.title.focus();
  }

  /** Close; focus goes back to what opened the panel (or the matrix when that is gone). */
  close({ restoreFocus = true } = {}) {
    this.token += 1;
    this.learnerId = null;
    if (!this.root.open) return;
    const hadFocus = this.root.contains(document.activeElement);
    this.root.close();
    replaceChildren(this.root);
    if (!restoreFocus && !hadFocus) return;
    const back = this.returnFocus;
    const target = back?.isConnected && back.checkVisibility?.() !== false && !back.closest("[hidden]") ? back : document.getElementById("matrix-panel");
    target?.focus();
  }

  buildMilestone(m) {
    const shape = h("span", { class: "story-shape", "aria-hidden": "true" });
    const text = h("span", { class: "sr-only" });
    const due = h("span", { class: "story-due muted" });
    const li = h("li", { dataset: { milestone: m.slug } }, shape, h("span", { class: "story-ms-title" }, m.title), text, due);
    if (this.mayEdit()) {
      li.append(
        h(
          "button",
          { type: "button", class: "secondary small", onclick: (e) => this.onHistory(this.learnerId, m.slug, e.currentTarget) },
          "History",
          h("span", { class: "sr-only" }, ` of ${m.title}`),
        ),
      );
    }
    this.milestones.set(m.slug, { li, shape, text, due });
    return li;
  }

  fillStory() {
    const story = storyOf(this.state, this.learnerId, utcDate(this.now()));
    if (!story) {
      this.figures.textContent = "This learner is not in the cohort shown.";
      return;
    }
    this.title.textContent = story.name;
    this.figures.textContent = `${percent(story.completion)} completed · ${story.done} of ${story.total} milestones`;
    if (story.risk === null) {
      this.risk.className = "muted small";
      this.risk.textContent = "Risk and scores are private to this learner and their mentors.";
    } else if (story.risk.atRisk) {
      this.risk.className = "warn-text";
      this.risk.textContent = `⚠ At risk: ${story.risk.reasons.join("; ")}`;
    } else {
      this.risk.className = "ok-text";
      this.risk.textContent = "On track";
    }
    for (const m of story.milestones) {
      const item = this.milestones.get(m.slug);
      if (!item) continue;
      item.li.className = `story-ms s-${m.status}${m.overdue ? " late" : ""}`;
      item.shape.textContent = cellText(m);
      const score = m.score !== null ? `, score ${m.score}` : "";
      item.text.textContent = `: ${STATUS_LABEL[m.status] ?? m.status}${score}`;
      item.due.textContent = `due ${dayDate(m.due_date)} (week ${m.week})${m.overdue ? " · ! overdue" : ""}`;
    }
  }

  // ---- the timeline ----------------------------------------------------------------

  find(seq) {
    return this.events.find((e) => e.seq === seq) ?? this.state.feed.find((e) => e.seq === seq) ?? null;
  }

  /** Load a page of the timeline: the newest when `before` is null, else the one before it. */
  async fetch(before) {
    const token = this.token;
    const learnerId = this.learnerId;
    if (this.events.length === 0) this.status.textContent = "Loading activity…";
    try {
      const page = await this.loadTimeline(learnerId, before);
      if (token !== this.token) return;
      // A reload of the newest page keeps the place reached by "Show older".
      if (before !== null || !this.pagedOlder) this.next = page.next ?? null;
      if (before !== null) this.pagedOlder = true;
      this.addEvents(page.results ?? []);
      this.status.textContent = this.events.length === 0 ? "No activity yet." : "";
    } catch (error) {
      if (token !== this.token) return;
      replaceChildren(
        this.status,
        `The activity could not be loaded. ${errorSentence(error)} `,
        h("button", { type: "button", class: "secondary small", onclick: () => this.fetch(before) }, "Try again"),
      );
    }
    this.older.hidden = this.next === null;
  }

  addEvents(events) {
    const shown = events.filter((e) => e.kind !== "hidden");
    if (shown.length === 0) return;
    const known = new Map([...this.timeline.children].map((li) => [Number(li.dataset.seq), li]));
    this.events = mergeEvents(this.events, shown);
    const titles = Object.fromEntries(this.state.milestones.map((m) => [m.slug, m.title]));
    replaceChildren(
      this.timeline,
      this.events.map((event) => known.get(event.seq) ?? this.buildEvent(event, titles)),
    );
    if (this.status.textContent === "No activity yet.") this.status.textContent = "";
  }

  buildEvent(event, titles) {
    return h(
      "li",
      { class: `story-event kind-${event.kind.replace(/[^a-z0-9]+/gi, "-")}`, dataset: { seq: String(event.seq) } },
      h("time", { datetime: event.at, title: fullTime(event.at) }, dayTime(event.at)),
      " ",
      h("span", { class: "what" }, eventSummary(event, titles, (seq) => this.find(seq))),
    );
  }

  // ---- live ------------------------------------------------------------------------

  /** Follow the state: the story when the learner changed, and events about them. */
  update(state, changes) {
    this.state = state;
    if (this.openId === null) return;
    const id = this.learnerId;
    if (changes.cohort || changes.learners.includes(id) || changes.cells.some(([l]) => l === id)) this.fillStory();
    if (!this.mayReadTimeline(id)) return;
    const about = changes.feed.filter((event) => subjectOf(event, (seq) => this.find(seq)) === id);
    if (about.length > 0) this.addEvents(about);
  }

  /** After a new snapshot: the story again, and the newest events (some may have been missed). */
  reload(state) {
    this.state = state;
    if (this.openId === null) return;
    this.fillStory();
    if (this.mayReadTimeline(this.learnerId)) this.fetch(null);
  }
}
