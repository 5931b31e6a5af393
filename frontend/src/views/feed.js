// The live feed, newest first: kudos and comments are given in place, and a new event
// adds one item instead of redrawing the list. While the pointer or keyboard focus is in
// the list, new events are held and counted ("3 new"), not inserted under the reader;
// the list shows what the filter (kind, learner) keeps. The logic is in feedfilter.js.

import { h, replaceChildren } from "../dom.js";
import { feedFilter, feedPause, heldCount, isPaused, matchesFilter, moveReader, receive, releaseHeld } from "../feedfilter.js";
import { ago, clockTime, eventSummary, fullTime } from "../format.js";
import { FeedTools } from "./feedtools.js";

const REACTIONS = new Set(["kudos.added", "comment.added"]);
// A placeholder for an event this reader may not see (a peer's risk): it advances the
// seq in state.js but has nothing to show.
const shown = (event) => event.kind !== "hidden";

export class FeedView {
  /** onKudos(seq) and onComment(seq, text) return promises; failures are shown by the caller. */
  constructor(root, { onKudos, onComment, tools = null }) {
    this.root = root;
    this.onKudos = onKudos;
    this.onComment = onComment;
    this.items = new Map(); // seq -> {li, kudos, comments, thread}
    this.given = new Set(); // seqs this user has given kudos to (this page's knowledge)
    this.list = h("ol", { class: "feed", "aria-label": "Activity, newest first", tabindex: "-1" });
    this.state = null;
    this.filter = feedFilter();
    this.pause = feedPause();
    this.tools = tools
      ? new FeedTools(tools, { onFilter: (filter) => this.setFilter(filter), onShowHeld: () => this.showHeld() })
      : null;
    this.watchReader();
  }

  /**
   * Pause while the pointer is over the feed or keyboard focus is in it (not a mouse
   * click's focus): the list and the "3 new" button over it, so pressing it keeps the pause.
   */
  watchReader() {
    const move = (where, inside) => {
      const { pause, release } = moveReader(this.pause, where, inside);
      this.pause = pause;
      this.insert(release);
    };
    this.root.addEventListener("pointerenter", () => move("pointer", true));
    this.root.addEventListener("pointerleave", () => move("pointer", false));
    this.root.addEventListener("focusin", (e) => move("focus", e.target.matches(":focus-visible")));
    this.root.addEventListener("focusout", (e) => {
      if (!this.root.contains(e.relatedTarget)) move("focus", false);
    });
  }

  find(seq) {
    return this.state?.feed.find((e) => e.seq === seq) ?? null;
  }

  keeps(event) {
    return shown(event) && matchesFilter(event, this.filter, (seq) => this.find(seq));
  }

  render(state) {
    this.state = state;
    this.items.clear();
    this.pause = { ...this.pause, held: [] }; // the snapshot's feed has them all
    replaceChildren(this.list, state.feed.filter((e) => this.keeps(e)).map((e) => this.buildItem(e)));
    if (this.list.parentNode !== this.root) replaceChildren(this.root, this.tools?.pill, this.list);
    this.tools?.setLearners(state);
    this.showCount();
  }

  /** Show only what `filter` keeps ({kind, learner}); the whole list is redrawn (50 at most). */
  setFilter(filter) {
    this.filter = filter;
    if (this.state) this.render(this.state);
  }

  /** Show the held events now (the "3 new" button), at the top of the list. */
  showHeld() {
    // The button hides once pressed: focus goes to the list, so it stays in the feed.
    if (this.root.contains(document.activeElement)) this.list.focus({ preventScroll: true });
    const { pause, release } = releaseHeld(this.pause);
    this.pause = pause;
    this.insert(release);
    this.list.scrollTop = 0;
  }

  showCount() {
    this.tools?.setHeld(heldCount(this.pause, this.filter, (seq) => this.find(seq)), isPaused(this.pause));
  }

  /** Add `events` (oldest first) that are still in the feed and kept; drop what left it. */
  insert(events) {
    if (!this.state) return;
    const inFeed = new Set(this.state.feed.map((e) => e.seq));
    for (const event of events) {
      if (this.items.has(event.seq) || !inFeed.has(event.seq) || !this.keeps(event)) continue;
      this.list.prepend(this.buildItem(event));
    }
    if (!isPaused(this.pause)) {
      for (const [seq, item] of this.items) {
        if (inFeed.has(seq)) continue;
        item.li.remove();
        this.items.delete(seq);
      }
    }
    this.showCount();
  }

  titles() {
    return Object.fromEntries(this.state.milestones.map((m) => [m.slug, m.title]));
  }

  buildItem(event) {
    const text = eventSummary(event, this.titles(), (seq) => this.find(seq));
    // Kudos and comments go on events, not on other kudos or comments (the API refuses).
    const reactable = !REACTIONS.has(event.kind);
    const kudos = h("button", { type: "button", class: "kudos", onclick: () => this.giveKudos(event.seq) });
    const commentsLabel = h("span", { class: "count" });
    const thread = h("ul", { class: "thread", "aria-label": `Comments on event ${event.seq}` });
    const input = h("input", {
      type: "text",
      name: "text",
      maxlength: "500",
      required: true,
      placeholder: "Add a comment",
      "aria-label": `Comment on event ${event.seq}`,
    });
    const form = h(
      "form",
      { class: "comment-form", hidden: true },
      input,
      h("button", { type: "submit", class: "primary small" }, "Send"),
    );
    const toggle = h(
      "button",
      {
        type: "button",
        class: "comment-toggle",
        "aria-expanded": "false",
        onclick: () => {
          form.hidden = !form.hidden;
          toggle.setAttribute("aria-expanded", String(!form.hidden));
          if (!form.hidden) input.focus();
        },
      },
      "✎ ",
      commentsLabel,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      input.disabled = true;
      try {
        await this.onComment(event.seq, value);
        input.value = "";
        form.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
      } catch {
        // Not sent: the caller said why; the text stays for another try.
      } finally {
        input.disabled = false;
      }
    });
    const li = h(
      "li",
      { class: `feed-item kind-${event.kind.replace(/[^a-z0-9]+/gi, "-")}`, dataset: { seq: String(event.seq) } },
      h("p", { class: "what" }, text),
      h(
        "p",
        { class: "meta" },
        h("time", { datetime: event.at, title: fullTime(event.at) }, clockTime(event.at)),
        h("span", { class: "ago", dataset: { at: event.at } }, ago(event.at, Date.now())),
        h("span", { class: "seq" }, `#${event.seq}`),
        reactable ? kudos : null,
        reactable ? toggle : null,
      ),
      thread,
      reactable ? form : null,
    );
    const item = { li, kudos: reactable ? kudos : null, commentsLabel, toggle, thread, event };
    this.items.set(event.seq, item);
    this.fillCounts(item, event);
    this.fillThread(item);
    return li;
  }

  fillCounts(item, event) {
    if (!item.kudos) return;
    const count = event.kudos ?? 0;
    const mine = this.given.has(event.seq);
    item.kudos.textContent = `★ ${count}`;
    item.kudos.setAttribute("aria-pressed", String(mine));
    // Each name starts with the visible text ("★ 2"), then says what the button does.
    item.kudos.setAttribute("aria-label", `★ ${count}: give kudos to event ${event.seq} (${count} so far)`);
    item.commentsLabel.textContent = String(event.comments ?? 0);
    item.toggle.setAttribute(
      "aria-label",
      `✎ ${event.comments ?? 0}: comment on event ${event.seq} (${event.comments ?? 0} comments)`,
    );
  }

  fillThread(item) {
    const comments = this.state.comments[item.event.seq] ?? [];
    replaceChildren(
      item.thread,
      comments.map((c) => h("li", {}, h("strong", {}, c.author?.name ?? "someone"), ": ", h("span", { class: "comment-text" }, c.text))),
    );
  }

  /** Show new events (or hold them while paused) and changed counts; older items fall off. */
  update(state, changes) {
    this.state = state;
    const { pause, show } = receive(this.pause, changes.feed.filter(shown));
    this.pause = pause;
    this.insert(show);
    if (changes.added.length > 0 || changes.cohort) this.tools?.setLearners(state);
    const bySeq = new Map(state.feed.map((e) => [e.seq, e]));
    for (const seq of new Set(changes.counts)) {
      const item = this.items.get(seq);
      const event = bySeq.get(seq);
      if (item && event) {
        item.event = event;
        this.fillCounts(item, event);
        this.fillThread(item);
      }
    }
  }

  /** Set a count from a REST answer before its event arrives (idempotent with the event). */
  showKudos(seq, count) {
    this.given.add(seq);
    const item = this.items.get(seq);
    if (item) this.fillCounts(item, { ...item.event, kudos: Math.max(count, item.event.kudos ?? 0) });
  }

  async giveKudos(seq) {
    await this.onKudos(seq);
  }

  /** Refresh the "N s ago" labels (once in a while, not per event). */
  tick(now) {
    for (const span of this.list.querySelectorAll(".ago")) span.textContent = ago(span.dataset.at, now);
  }
}
