// The learner x milestone matrix. Built once per snapshot; after that an event touches
// only its cell and its row header, so a 400-learner cohort stays smooth.
//
// Keyboard: one cell is in the tab order (roving tabindex); arrow keys, Home and End move
// between cells; Enter or Space opens the editor of an editable cell.

import { h, replaceChildren } from "../dom.js";
import { cellDescription, cellText, dayDate, percent } from "../format.js";
import { learnerCompletion } from "../state.js";

/** Return learner ids in display order: by name, or by completion (then name). */
export function sortedIds(state, key, dir) {
  const learners = state.order.map((id) => state.learners[id]);
  const byName = (a, b) => a.name.localeCompare(b.name) || a.id - b.id;
  const sign = dir === "desc" ? -1 : 1;
  const completion = new Map(learners.map((l) => [l.id, learnerCompletion(l, state.milestones)]));
  learners.sort((a, b) =>
    key === "completion"
      ? sign * (completion.get(a.id) - completion.get(b.id)) || byName(a, b)
      : sign * byName(a, b),
  );
  return learners.map((l) => l.id);
}

export class MatrixView {
  /**
   * root: the container; canEdit(learnerId): whether this user may edit that row;
   * onActivate(learnerId, slug, button): open the editor; isOnline(learner): presence.
   */
  constructor(root, { canEdit, onActivate, isOnline }) {
    this.root = root;
    this.canEdit = canEdit;
    this.onActivate = onActivate;
    this.isOnline = isOnline;
    this.sortKey = "name";
    this.sortDir = "asc";
    this.cells = new Map(); // "learnerId:slug" -> button
    this.rows = new Map(); // learnerId -> {tr, nameCell, pctCell}
    this.pending = new Map(); // "learnerId:slug" -> {status, score, awaitVersion}
    this.focusKey = null;
    this.state = null;
  }

  // ---- building --------------------------------------------------------------------

  render(state) {
    this.state = state;
    this.cells.clear();
    this.rows.clear();
    const sortButton = (key, label) => {
      const button = h(
        "button",
        { type: "button", class: "sort", dataset: { sort: key }, onclick: () => this.toggleSort(key) },
        label,
      );
      return button;
    };
    this.nameHeader = h("th", { scope: "col", class: "col-name" }, sortButton("name", "Learner"));
    this.pctHeader = h("th", { scope: "col", class: "col-pct" }, sortButton("completion", "Done"));
    const milestoneHeaders = state.milestones.map((m) =>
      h(
        "th",
        { scope: "col", class: "col-ms", title: `${m.title}: expected by week ${m.week} (${dayDate(m.due_date)})` },
        h("span", { class: "ms-title" }, m.title),
        h("span", { class: "ms-week" }, `w${m.week}`),
      ),
    );
    this.tbody = h("tbody");
    this.table = h(
      "table",
      { class: "matrix", "aria-label": "Progress of each learner on each milestone", "aria-rowcount": state.order.length + 1 },
      h("thead", {}, h("tr", {}, this.nameHeader, this.pctHeader, milestoneHeaders)),
      this.tbody,
    );
    this.table.addEventListener("keydown", (e) => this.onKeydown(e));
    this.table.addEventListener("click", (e) => this.onClick(e));
    this.table.addEventListener("focusin", (e) => {
      const key = e.target?.dataset?.key;
      if (key) this.setFocusKey(key);
    });
    const fragment = document.createDocumentFragment();
    for (const id of sortedIds(state, this.sortKey, this.sortDir)) fragment.append(this.buildRow(id));
    this.tbody.append(fragment);
    replaceChildren(this.root, this.table);
    this.root.style.setProperty("--rows", String(state.order.length));
    this.updateSortHeaders();
    const first = this.cells.keys().next();
    this.setFocusKey(first.done ? null : first.value);
  }

  buildRow(learnerId) {
    const learner = this.state.learners[learnerId];
    const nameCell = h("th", { scope: "row", class: "col-name" });
    const pctCell = h("td", { class: "col-pct" });
    const tr = h("tr", { dataset: { learner: String(learnerId) } }, nameCell, pctCell);
    for (const m of this.state.milestones) {
      const key = `${learnerId}:${m.slug}`;
      const button = h("button", {
        type: "button",
        class: "cell",
        tabindex: "-1",
        dataset: { key, learner: String(learnerId), milestone: m.slug },
      });
      this.cells.set(key, button);
      tr.append(h("td", {}, button));
    }
    this.rows.set(learnerId, { tr, nameCell, pctCell });
    this.fillRow(learner);
    for (const m of this.state.milestones) this.fillCell(learner, m);
    return tr;
  }

  fillRow(learner) {
    const row = this.rows.get(learner.id);
    if (!row) return;
    const online = this.isOnline(learner);
    const parts = [h("span", { class: "learner-name" }, learner.name)];
    if (online) {
      parts.push(h("span", { class: "online", title: "Viewing now" }, "●", h("span", { class: "sr-only" }, " online now")));
    }
    // A peer's risk is private to a learner (at_risk null): their row shows status only.
    const atRisk = learner.at_risk === true;
    if (atRisk) {
      const tipId = `risk-tip-${learner.id}`;
      parts.push(
        h(
          "span",
          { class: "risk", tabindex: "0", role: "note", "aria-describedby": tipId, "aria-label": `${learner.name} is at risk` },
          "⚠",
          h("span", { class: "sr-only" }, " at risk"),
          h("span", { class: "tip", role: "tooltip", id: tipId }, learner.risk_reasons.join("; ")),
        ),
      );
    }
    replaceChildren(row.nameCell, parts);
    row.tr.classList.toggle("at-risk", atRisk);
    row.tr.classList.toggle("mine", this.canEdit(learner.id) === "own");
    row.pctCell.textContent = percent(learnerCompletion(learner, this.state.milestones));
  }

  fillCell(learner, milestone) {
    const key = `${learner.id}:${milestone.slug}`;
    const button = this.cells.get(key);
    if (!button) return;
    const confirmed = learner.progress[milestone.slug] ?? { status: "not_started", score: null, version: 0 };
    let pending = this.pending.get(key);
    if (pending && pending.awaitVersion !== undefined && confirmed.version >= pending.awaitVersion) {
      this.pending.delete(key);
      pending = undefined;
    }
    const shown = pending ?? confirmed;
    const editable = Boolean(this.canEdit(learner.id));
    button.className = `cell s-${shown.status}${pending ? " pending" : ""}`;
    button.textContent = cellText(shown);
    button.setAttribute(
      "aria-label",
      // The name carries the visible text ("▲ Sub") so speech input can say what is seen.
      `${learner.name}, ${milestone.title}: ${cellText(shown)}, ${cellDescription(shown)}${pending ? " (saving)" : ""}`,
    );
    if (editable) button.removeAttribute("aria-disabled");
    else button.setAttribute("aria-disabled", "true");
    button.title = `${milestone.title}: ${cellDescription(shown)}${editable ? " — press to change" : ""}`;
  }

  // ---- updates ---------------------------------------------------------------------

  /** Show the new state: only the listed cells and rows are touched. */
  update(state, changes) {
    this.state = state;
    const bySlug = new Map(state.milestones.map((m) => [m.slug, m]));
    for (const [learnerId, slug] of changes.cells) {
      this.fillCell(state.learners[learnerId], bySlug.get(slug));
    }
    for (const id of new Set(changes.learners)) {
      if (state.learners[id]) this.fillRow(state.learners[id]);
    }
    if (changes.added.length > 0) {
      for (const id of changes.added) {
        if (!this.rows.has(id)) this.tbody.append(this.buildRow(id));
      }
      this.table.setAttribute("aria-rowcount", String(state.order.length + 1));
      this.root.style.setProperty("--rows", String(state.order.length));
    }
    if (changes.added.length > 0 || (this.sortKey === "completion" && changes.cells.length > 0)) {
      this.reorder();
    }
  }

  /** Redraw rows (presence or risk changed for them). */
  refreshRows(state, ids) {
    this.state = state;
    for (const id of ids) if (state.learners[id]) this.fillRow(state.learners[id]);
  }

  setPending(learnerId, slug, value) {
    const key = `${learnerId}:${slug}`;
    if (value) this.pending.set(key, value);
    else this.pending.delete(key);
    const m = this.state.milestones.find((x) => x.slug === slug);
    if (m && this.state.learners[learnerId]) this.fillCell(this.state.learners[learnerId], m);
  }

  flash(learnerId, slug, className) {
    const button = this.cells.get(`${learnerId}:${slug}`);
    if (!button) return;
    button.classList.remove(className);
    // Restart the animation on purpose: read layout once, then add the class again.
    void button.offsetWidth;
    button.classList.add(className);
  }

  // ---- sorting ---------------------------------------------------------------------

  toggleSort(key) {
    if (this.sortKey === key) this.sortDir = this.sortDir === "asc" ? "desc" : "asc";
    else {
      this.sortKey = key;
      this.sortDir = key === "completion" ? "desc" : "asc";
    }
    this.updateSortHeaders();
    this.reorder();
  }

  updateSortHeaders() {
    for (const [th, key] of [
      [this.nameHeader, "name"],
      [this.pctHeader, "completion"],
    ]) {
      const sort = this.sortKey === key ? (this.sortDir === "asc" ? "ascending" : "descending") : "none";
      th.setAttribute("aria-sort", sort);
      const button = th.querySelector("button");
      const arrow = sort === "ascending" ? " ↑" : sort === "descending" ? " ↓" : "";
      // The visible word starts the accessible name; what the button does follows it.
      replaceChildren(
        button,
        `${key === "name" ? "Learner" : "Done"}${arrow}`,
        h("span", { class: "sr-only" }, ` (sort by ${key === "name" ? "name" : "completion"})`),
      );
    }
  }

  reorder() {
    const ids = sortedIds(this.state, this.sortKey, this.sortDir);
    const current = [...this.tbody.children];
    if (ids.length === current.length && ids.every((id, i) => current[i] === this.rows.get(id)?.tr)) return;
    const fragment = document.createDocumentFragment();
    for (const id of ids) fragment.append(this.rows.get(id).tr);
    this.tbody.append(fragment);
  }

  // ---- keyboard and pointer --------------------------------------------------------

  setFocusKey(key) {
    if (this.focusKey === key) return;
    const old = this.cells.get(this.focusKey);
    if (old) old.tabIndex = -1;
    this.focusKey = key;
    const now = this.cells.get(key);
    if (now) now.tabIndex = 0;
  }

  onClick(event) {
    const button = event.target.closest("button.cell");
    if (!button) return;
    const learnerId = Number(button.dataset.learner);
    this.setFocusKey(button.dataset.key);
    if (this.canEdit(learnerId)) this.onActivate(learnerId, button.dataset.milestone, button);
  }

  onKeydown(event) {
    const button = event.target.closest?.("button.cell");
    if (!button) return;
    const tr = button.closest("tr");
    const td = button.closest("td");
    const column = [...tr.children].indexOf(td);
    let target = null;
    switch (event.key) {
      case "ArrowRight":
        target = td.nextElementSibling;
        break;
      case "ArrowLeft":
        target = td.previousElementSibling;
        break;
      case "ArrowDown":
        target = tr.nextElementSibling?.children[column];
        break;
      case "ArrowUp":
        target = tr.previousElementSibling?.children[column];
        break;
      case "Home":
        target = tr.children[2];
        break;
      case "End":
        target = tr.lastElementChild;
        break;
      default:
        return;
    }
    const next = target?.querySelector?.("button.cell");
    if (next) {
      event.preventDefault();
      this.setFocusKey(next.dataset.key);
      next.focus();
    }
  }
}
