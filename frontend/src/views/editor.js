// The cell editor: a modal <dialog> (focus stays inside, Escape closes it, focus returns
// to the cell). Mentors pick any status and a score for "completed"; learners see only
// the moves they may make on their own cells.

import { h, replaceChildren } from "../dom.js";
import { STATUS_LABEL, dayDate } from "../format.js";
import { LEARNER_TRANSITIONS, STATUSES } from "../state.js";

/** Return the statuses offered to `role` for a cell now at `status` (current first). */
export function statusChoices(role, status) {
  if (role === "mentor") return STATUSES;
  return [status, ...(LEARNER_TRANSITIONS[status] ?? [])];
}

export class CellEditor {
  /** onSave({learnerId, slug, status, score}) is called when the form is submitted. */
  constructor(dialog, { onSave }) {
    this.dialog = dialog;
    this.onSave = onSave;
    this.returnFocus = null;
    dialog.addEventListener("close", () => this.returnFocus?.focus());
  }

  open({ learner, milestone, cell, role, anchor }) {
    this.returnFocus = anchor;
    const titleId = "editor-title";
    const choices = statusChoices(role, cell.status);
    const select = h(
      "select",
      { id: "editor-status", name: "status" },
      choices.map((s) => h("option", { value: s, selected: s === cell.status }, STATUS_LABEL[s])),
    );
    const score = h("input", {
      id: "editor-score",
      name: "score",
      type: "number",
      min: "0",
      max: "100",
      step: "1",
      inputmode: "numeric",
      value: cell.score ?? "",
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
    const form = h(
      "form",
      { method: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, `${learner.name} · ${milestone.title}`),
      h("p", { class: "muted" }, `Expected by week ${milestone.week} (${dayDate(milestone.due_date)})`),
      h("p", { class: "field" }, h("label", { for: "editor-status" }, "Status"), select),
      scoreRow,
      error,
      h(
        "p",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => this.dialog.close() }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, "Save"),
      ),
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
    select.focus();
  }
}
