// The learner x milestone matrix. Built once per snapshot; after that an event touches
// only its cell and its row header, so a 400-learner cohort stays smooth.
//
// Keyboard: one cell is in the tab order (roving tabindex); arrow keys, Home and End move
// between cells and to the learner's name (ArrowLeft from the first cell); Enter or Space
// opens the editor of an editable cell, or the learner's story from the name.
//
// A filter (filters.js) hides rows; it is judged again for each row an event changes, so
// a learner who becomes at risk shows up under "at risk only" as the event lands.

import { h, replaceChildren } from "../dom.js";
import { gridTarget } from "./grid.js";
import { matcher, sortedIds } from "../filters.js";
import { cellDescription, cellText, dayDate, percent } from "../format.js";
import { isOverdue, thisWeeksMilestone, utcDate } from "../risk.js";
import { NO_FILTER } from "../route.js";
import { learnerCompletion } from "../state.js";

export { sortedIds } from "../filters.js";

const NAME = "@name"; // the focus key of a row's name: `${learnerId}:@name`

export class MatrixView {
  /**
   * root: the container; canEdit(learnerId): whether this user may edit that row;
   * onActivate(learnerId, slug, button): open the editor; isOnline(learner): presence;
   * onLearner(learnerId, button): open the learner's story; onFiltered(shown, total): the
   * filter's count changed; now(): the clock (ms), for due dates.
   */
  constructor(root, { canEdit, onActivate, isOnline, onLearner, onFiltered, now = () => Date.now() }) {
    this.root = root;
    this.canEdit = canEdit;
    this.onActivate = onActivate;
    this.isOnline = isOnline;
    this.onLearner = onLearner;
    this.onFiltered = onFiltered;
    this.now = now;
    this.sortKey = "name";
    this.sortDir = "asc";
    this.cells = new Map(); // "learnerId:slug" -> button
    this.rows = new Map(); // learnerId -> {tr, nameCell, nameButton, flags, pctCell}
    this.columns = new Map(); // slug -> {th, col, note}
    this.pending = new Map(); // "learnerId:slug" -> {status, score, awaitVersion}
    this.filter = NO_FILTER;
    this.hiddenRows = new Set();
    this.focusKey = null;
    this.state = null;
    this.day = utcDate(now());
  }

  // ---- building --------------------------------------------------------------------

  render(state) {
    this.state = state;
    this.day = utcDate(this.now());
    this.cells.clear();
    this.rows.clear();
    this.columns.clear();
    this.hiddenRows.clear();
    const sortButton = (key, label) =>
      h("button", { type: "button", class: "sort", dataset: { sort: key }, onclick: () => this.toggleSort(key) }, label);
    // Explicit roles: the rows are laid out as grids (styles.css), not as a CSS table.
    const colHeader = { scope: "col", role: "columnheader" };
    this.nameHeader = h("th", { ...colHeader, class: "col-name" }, sortButton("name", "Learner"));
    this.pctHeader = h("th", { ...colHeader, class: "col-pct" }, sortButton("completion", "Done"));
    const milestoneHeaders = state.milestones.map((m) => {
      const note = h("span", { class: "sr-only" });
      const th = h(
        "th",
        { ...colHeader, class: "col-ms", dataset: { milestone: m.slug } },
        h("span", { class: "ms-title" }, m.title),
        h("span", { class: "ms-week" }, `w${m.week}`),
        note,
      );
      this.columns.set(m.slug, { th, note });
      return th;
    });
    this.tbody = h("tbody", { role: "rowgroup" });
    this.table = h(
      "table",
      {
        class: "matrix",
        role: "table",
        "aria-label": "Progress of each learner on each milestone",
        "aria-rowcount": state.order.length + 1,
      },
      h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, this.nameHeader, this.pctHeader, milestoneHeaders)),
      this.tbody,
    );
    this.table.style.setProperty("--cols", String(state.milestones.length));
    this.markWeek();
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
    this.applyFilter();
  }

  /** Mark this week's milestone column (risk.js): tinted, and said in its header's words. */
  markWeek() {
    const { cohort, milestones } = this.state;
    const current = thisWeeksMilestone(cohort, milestones, this.day);
    // The tint is one background on the table's body (styles.css), not a class per cell.
    if (current) this.table.style.setProperty("--week", String(milestones.indexOf(current.milestone)));
    this.table.toggleAttribute("data-week", current !== null);
    for (const m of milestones) {
      const column = this.columns.get(m.slug);
      const now = current?.milestone === m;
      column.th.classList.toggle("current", now);
      column.note.textContent = now ? ` (${current.words})` : "";
      column.th.title = `${m.title}: expected by week ${m.week} (${dayDate(m.due_date)})${now ? ` — ${current.words}` : ""}`;
    }
  }

  buildRow(learnerId) {
    const learner = this.state.learners[learnerId];
    const nameButton = h("button", {
      type: "button",
      class: "learner-name",
      tabindex: "-1",
      "aria-haspopup": "dialog",
      dataset: { key: `${learnerId}:${NAME}`, learner: String(learnerId) },
    });
    const flags = h("span", { class: "flags" });
    const nameCell = h("th", { scope: "row", role: "rowheader", class: "col-name" }, nameButton, flags);
    const pctCell = h("td", { role: "cell", class: "col-pct" });
    const tr = h("tr", { role: "row", dataset: { learner: String(learnerId) } }, nameCell, pctCell);
    for (const m of this.state.milestones) {
      const key = `${learnerId}:${m.slug}`;
      const button = h("button", {
        type: "button",
        class: "cell",
        tabindex: "-1",
        dataset: { key, learner: String(learnerId), milestone: m.slug },
      });
      this.cells.set(key, button);
      tr.append(h("td", { role: "cell" }, button));
    }
    this.rows.set(learnerId, { tr, nameCell, nameButton, flags, pctCell });
    this.fillRow(learner);
    for (const m of this.state.milestones) this.fillCell(learner, m);
    return tr;
  }

  fillRow(learner) {
    const row = this.rows.get(learner.id);
    if (!row) return;
    const online = this.isOnline(learner);
    if (row.nameButton.textContent !== learner.name) row.nameButton.textContent = learner.name;
    const parts = [];
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
    replaceChildren(row.flags, parts);
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
    // Overdue shows as a "!" in the corner (styles.css), not by colour alone, and in words.
    const late = isOverdue(shown.status, milestone, this.day) ? `, overdue (due ${dayDate(milestone.due_date)})` : "";
    button.className = `cell s-${shown.status}${pending ? " pending" : ""}${late ? " overdue" : ""}`;
    button.textContent = cellText(shown);
    button.setAttribute(
      "aria-label",
      // The name carries the visible text ("▲ Sub") so speech input can say what is seen.
      `${learner.name}, ${milestone.title}: ${cellText(shown)}, ${cellDescription(shown)}${late}${pending ? " (saving)" : ""}`,
    );
    if (editable) button.removeAttribute("aria-disabled");
    else button.setAttribute("aria-disabled", "true");
    button.title = `${milestone.title}: ${cellDescription(shown)}${late}${editable ? " — press to change" : ""}`;
  }

  // ---- updates ---------------------------------------------------------------------

  /** Show the new state: only the listed cells and rows are touched. */
  update(state, changes) {
    this.state = state;
    if (changes.cohort) {
      // New dates: every due date, hence every overdue mark and this week's column.
      this.refillAll();
    } else {
      const bySlug = new Map(state.milestones.map((m) => [m.slug, m]));
      for (const [learnerId, slug] of changes.cells) {
        this.fillCell(state.learners[learnerId], bySlug.get(slug));
      }
    }
    for (const id of new Set(changes.learners)) {
      if (state.learners[id]) this.fillRow(state.learners[id]);
    }
    if (changes.added.length > 0) {
      for (const id of changes.added) {
        if (!this.rows.has(id)) this.tbody.append(this.buildRow(id));
      }
      this.root.style.setProperty("--rows", String(state.order.length));
    }
    if (changes.added.length > 0 || (this.sortKey === "completion" && changes.cells.length > 0)) {
      this.reorder();
    }
    if (changes.cohort) this.applyFilter();
    else this.applyFilter([...changes.learners, ...changes.added, ...changes.cells.map(([id]) => id)]);
  }

  /** Redraw rows (presence or risk changed for them). */
  refreshRows(state, ids) {
    this.state = state;
    for (const id of ids) if (state.learners[id]) this.fillRow(state.learners[id]);
    this.applyFilter(ids);
  }

  /** Once a day passes (checked by the page's minute timer): due dates move on. */
  tick() {
    const day = utcDate(this.now());
    if (day === this.day || !this.state) return;
    this.refillAll();
    this.applyFilter();
  }

  refillAll() {
    this.day = utcDate(this.now());
    this.markWeek();
    for (const id of this.state.order) {
      const learner = this.state.learners[id];
      if (learner) for (const m of this.state.milestones) this.fillCell(learner, m);
    }
  }

  // ---- filtering -------------------------------------------------------------------

  /** Show only the learners that pass `filter` (filters.js, already made effective). */
  setFilter(filter) {
    this.filter = filter;
    if (this.state) this.applyFilter();
  }

  /** Judge the filter again for `ids` (every row when null); tell the count if it changed. */
  applyFilter(ids = null) {
    if (!this.state || !this.table) return;
    const matches = matcher(this.filter, this.state.milestones, this.day);
    const before = this.hiddenRows.size;
    for (const id of ids === null ? this.state.order : new Set(ids)) {
      const row = this.rows.get(id);
      const learner = this.state.learners[id];
      if (!row || !learner) continue;
      const hide = !matches(learner);
      if (hide === row.tr.hidden) continue;
      row.tr.hidden = hide;
      if (hide) this.hiddenRows.add(id);
      else this.hiddenRows.delete(id);
    }
    const shown = this.rows.size - this.hiddenRows.size;
    this.table.setAttribute("aria-rowcount", String(shown + 1));
    if (this.hiddenRows.has(Number(String(this.focusKey).split(":")[0]))) {
      const first = [...this.tbody.children].find((tr) => !tr.hidden);
      const button = first?.querySelector("button.cell");
      if (button) this.setFocusKey(button.dataset.key);
    }
    if (ids === null || this.hiddenRows.size !== before) this.onFiltered?.(shown, this.rows.size);
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

  /** Return the button of focus key `key`: a cell, or a row's name. */
  control(key) {
    if (typeof key !== "string") return null;
    if (!key.endsWith(`:${NAME}`)) return this.cells.get(key) ?? null;
    return this.rows.get(Number(key.split(":")[0]))?.nameButton ?? null;
  }

  /** Return the name button of a learner's row (to return focus to), or null. */
  nameButton(learnerId) {
    return this.rows.get(learnerId)?.nameButton ?? null;
  }

  setFocusKey(key) {
    if (this.focusKey === key) return;
    const old = this.control(this.focusKey);
    if (old) old.tabIndex = -1;
    this.focusKey = key;
    const now = this.control(key);
    if (now) now.tabIndex = 0;
  }

  onClick(event) {
    const name = event.target.closest("button.learner-name");
    if (name) {
      this.setFocusKey(name.dataset.key);
      this.onLearner?.(Number(name.dataset.learner), name);
      return;
    }
    const button = event.target.closest("button.cell");
    if (!button) return;
    const learnerId = Number(button.dataset.learner);
    this.setFocusKey(button.dataset.key);
    if (this.canEdit(learnerId)) this.onActivate(learnerId, button.dataset.milestone, button);
  }

  onKeydown(event) {
    const next = gridTarget(event.target, event.key);
    if (next) {
      event.preventDefault();
      this.setFocusKey(next.dataset.key);
      next.focus();
    }
  }
}
