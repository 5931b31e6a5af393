// The cell editor: a modal <dialog> (focus stays inside, Escape closes it, focus returns
// to the cell). Mentors pick any status and a score for "completed"; learners see only
// the moves they may make on their own cells. Mentors also see the cell's history (each
// version: status, score, who, when) with "Restore" on earlier ones; after a conflict the
// editor opens again with what the mentor chose, to apply it over the current value.

import { errorSentence } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { STATUS_LABEL, STATUS_SHAPE, cellDescription, dayDate, dayTime, fullTime } from "../format.js";
import { LEARNER_TRANSITIONS, STATUSES } from "../state.js";

/** Return the statuses offered to `role` for a cell now at `status` (current first). */
export function statusChoices(role, status) {
  if (role === "mentor") return STATUSES;
  return [status, ...(LEARNER_TRANSITIONS[status] ?? [])];
}

/** Return whether a version of a cell holds another value than `cell` (so restoring it changes something). */
export function differsFrom(version, cell) {
  return version.status !== cell.status || (version.score ?? null) !== (cell.score ?? null);
}

export class CellEditor {
  /**
   * onSave({learnerId, slug, status, score, version}) is called when the form is submitted;
   * onRestore(same, plus `restored`: the version brought back) by a "Restore" button.
   */
  constructor(dialog, { onSave, onRestore }) {
    this.dialog = dialog;
    this.onSave = onSave;
    this.onRestore = onRestore;
    this.returnFocus = null;
    dialog.addEventListener("close", () => this.returnFocus?.focus());
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Open the editor of `cell` (its shown value and version). draft: the status and score to
   * preselect (what the mentor chose before a conflict); conflict: why it opened again;
   * history(): a promise of the cell's versions (mentors), shown at once when showHistory.
   */
  open({ learner, milestone, cell, role, anchor, draft = null, conflict = null, history = null, showHistory = false }) {
    this.returnFocus = anchor;
    const titleId = "editor-title";
    const choices = statusChoices(role, cell.status);
    const wanted = draft && choices.includes(draft.status) ? draft.status : cell.status;
    const select = h(
      "select",
      { id: "editor-status", name: "status" },
      choices.map((s) => h("option", { value: s, selected: s === wanted }, STATUS_LABEL[s])),
    );
    const score = h("input", {
      id: "editor-score",
      name: "score",
      type: "number",
      min: "0",
      max: "100",
      step: "1",
      inputmode: "numeric",
      value: (draft ? draft.score : cell.score) ?? "",
    });
    const scoreRow = h(
      "p",
      { class: "field" },
      h("label", { for: "editor-score" }, "Score (0-100)"),
      score,
    );
    const error = h("p", { class: "form-error", role: "alert" });
    const syncScore = () => {
      const scored = role === "mentor" && select.value === "completed";
      scoreRow.hidden = !scored;
      score.required = scored;
    };
    select.addEventListener("change", syncScore);
    syncScore();
    const panel = history ? this.historyPanel({ learner, milestone, cell, history }) : null;
    const form = h(
      "form",
      { method: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, `${learner.name} · ${milestone.title}`),
      h("p", { class: "muted" }, `Expected by week ${milestone.week} (${dayDate(milestone.due_date)})`),
      conflict ? h("p", { class: "conflict", role: "alert" }, conflict) : null,
      h("p", { class: "field" }, h("label", { for: "editor-status" }, "Status"), select),
      scoreRow,
      error,
      h(
        "p",
        { class: "actions" },
        panel ? panel.toggle : null,
        h("button", { type: "button", class: "secondary", onclick: () => this.dialog.close() }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, conflict ? "Save anyway" : "Save"),
      ),
      panel ? panel.box : null,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const status = select.value;
      let value = null;
      if (role === "mentor" && status === "completed") {
        value = Number.parseInt(score.value, 10);
        if (!Number.isInteger(value) || value < 0 || value > 100) {
          error.textContent = "Give a whole-number score from 0 to 100.";
          score.focus();
          return;
        }
      }
      this.dialog.close();
      // The version the person saw: a change made meanwhile by someone else is a conflict.
      this.onSave({ learnerId: learner.id, slug: milestone.slug, status, score: value, version: cell.version });
    });
    replaceChildren(this.dialog, form);
    this.dialog.showModal();
    if (showHistory && panel) panel.show();
    else select.focus();
  }

  /** Return {toggle, box, show()}: the "History" button and the versions it shows. */
  historyPanel({ learner, milestone, cell, history }) {
    const box = h("div", { id: "editor-history", class: "history", hidden: true });
    let loaded = false;
    const show = async () => {
      box.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      if (loaded) return;
      loaded = true;
      replaceChildren(box, h("p", { class: "muted small", role: "status" }, "Loading the history…"));
      try {
        const versions = await history();
        replaceChildren(box, this.versionList({ learner, milestone, cell, versions }));
      } catch (error) {
        loaded = false;
        replaceChildren(box, h("p", { class: "form-error", role: "alert" }, `The history could not be loaded. ${errorSentence(error)}`));
      }
    };
    const toggle = h(
      "button",
      {
        type: "button",
        class: "secondary history-toggle",
        "aria-expanded": "false",
        "aria-controls": "editor-history",
        onclick: () => {
          if (box.hidden) show();
          else {
            box.hidden = true;
            toggle.setAttribute("aria-expanded", "false");
          }
        },
      },
      "History",
    );
    return { toggle, box, show: () => show().then(() => box.querySelector("button, h3")?.focus()) };
  }

  versionList({ learner, milestone, cell, versions }) {
    const items = versions.map((v, index) => {
      const value = `${STATUS_SHAPE[v.status] ?? ""} ${cellDescription(v)}`;
      const restorable = v.version !== cell.version && index > 0 && differsFrom(v, cell);
      return h(
        "li",
        { dataset: { version: String(v.version) } },
        h("span", { class: "v-value" }, `v${v.version} · ${value}`),
        h(
          "span",
          { class: "v-meta muted" },
          `${v.actor?.name ?? "System"} · `,
          h("time", { datetime: v.at, title: fullTime(v.at) }, dayTime(v.at)),
        ),
        restorable
          ? h(
              "button",
              {
                type: "button",
                class: "secondary small",
                onclick: () => {
                  this.dialog.close();
                  // An ordinary change, made on the version the editor showed.
                  this.onRestore({
                    learnerId: learner.id,
                    slug: milestone.slug,
                    status: v.status,
                    score: v.score ?? null,
                    version: cell.version,
                    restored: v.version,
                  });
                },
              },
              "Restore",
              h("span", { class: "sr-only" }, ` version ${v.version} (${cellDescription(v)})`),
            )
          : h("span", { class: "v-note muted small" }, index === 0 ? "now" : ""),
      );
    });
    return [
      h("h3", { tabindex: "-1" }, "History, newest first"),
      items.length === 0 ? h("p", { class: "muted small" }, "No versions yet.") : h("ol", { class: "versions" }, items),
    ];
  }
}
