// The live feed, newest first: kudos and comments are given in place, and a new event
// adds one item instead of redrawing the list.

import { h, replaceChildren } from "../dom.js";
import { ago, clockTime, eventSummary, fullTime } from "../format.js";
import { FEED_SIZE } from "../state.js";

const REACTIONS = new Set(["kudos.added", "comment.added"]);
// A placeholder for an event this reader may not see (a peer's risk): it advances the
// seq in state.js but has nothing to show.
const shown = (event) => event.kind !== "hidden";

export class FeedView {
  /** onKudos(seq) and onComment(seq, text) return promises; failures are shown by the caller. */
  constructor(root, { onKudos, onComment }) {
    this.root = root;
    this.onKudos = onKudos;
    this.onComment = onComment;
    this.items = new Map(); // seq -> {li, kudos, comments, thread}
    this.given = new Set(); // seqs this user has given kudos to (this page's knowledge)
    this.list = h("ol", { class: "feed", "aria-label": "Activity, newest first" });
    this.state = null;
  }

  render(state) {
    this.state = state;
    this.items.clear();
    replaceChildren(this.list, state.feed.filter(shown).map((e) => this.buildItem(e)));
    replaceChildren(this.root, this.list);
  }

  titles() {
    return Object.fromEntries(this.state.milestones.map((m) => [m.slug, m.title]));
  }

  buildItem(event) {
    const find = (seq) => this.state.feed.find((e) => e.seq === seq) ?? null;
    const text = eventSummary(event, this.titles(), find);
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

  /** Show new events and changed counts; older items fall off past FEED_SIZE. */
  update(state, changes) {
    this.state = state;
    for (const event of changes.feed) {
      if (this.items.has(event.seq) || !shown(event)) continue;
      this.list.prepend(this.buildItem(event));
    }
    while (this.list.children.length > FEED_SIZE) {
      const last = this.list.lastElementChild;
      this.items.delete(Number(last.dataset.seq));
      last.remove();
    }
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
