// The matrix's filter form (index.html's #filters): a name search, "at risk only",
// "overdue", and a milestone's status. It says what changed; navigation.js puts it in the
// URL, so a link carries it and the back button undoes it.

import { h, replaceChildren } from "../dom.js";
import { STATUS_LABEL } from "../format.js";
import { NO_FILTER } from "../route.js";
import { STATUSES } from "../state.js";

const $ = (id) => document.getElementById(id);
// Typing a name is one step of history, not one per key: the first key of a burst pushes
// an entry, the next ones (until a pause or leaving the field) replace it.
const TYPING_PAUSE_MS = 1500;

export class FilterBar {
  /** onChange(filter, {replace}) is called with the whole filter after any change. */
  constructor(form, { onChange }) {
    this.form = form;
    this.onChange = onChange;
    this.q = $("filter-q");
    this.risk = $("filter-risk");
    this.overdue = $("filter-overdue");
    this.milestone = $("filter-milestone");
    this.status = $("filter-status");
    this.count = $("filter-count");
    this.clear = $("filter-clear");
    this.typing = null;
    replaceChildren(
      this.status,
      h("option", { value: "" }, "Any status"),
      STATUSES.map((s) => h("option", { value: s }, STATUS_LABEL[s])),
    );
    form.addEventListener("submit", (e) => e.preventDefault());
    for (const control of [this.risk, this.overdue, this.milestone, this.status]) {
      control.addEventListener("change", () => this.changed(false));
    }
    this.q.addEventListener("input", () => {
      const replace = this.typing !== null;
      clearTimeout(this.typing);
      this.typing = setTimeout(() => this.endTyping(), TYPING_PAUSE_MS);
      this.changed(replace);
    });
    this.q.addEventListener("blur", () => this.endTyping());
    this.clear.addEventListener("click", () => {
      this.show(NO_FILTER);
      this.changed(false);
      this.q.focus();
    });
  }

  endTyping() {
    clearTimeout(this.typing);
    this.typing = null;
  }

  changed(replace) {
    this.onChange(this.value(), { replace });
  }

  value() {
    return {
      risk: this.risk.checked && !this.risk.disabled,
      overdue: this.overdue.checked,
      milestone: this.milestone.value,
      status: this.status.value,
      q: this.q.value,
    };
  }

  /**
   * Set up for a cohort: its milestones, and "at risk only" for those who may see peers'
   * risk (mentors and staff; a learner sees only their own).
   */
  setup(milestones, { canSeeRisk }) {
    const chosen = this.milestone.value;
    replaceChildren(
      this.milestone,
      h("option", { value: "" }, "Any milestone"),
      milestones.map((m) => h("option", { value: m.slug, selected: m.slug === chosen }, m.title)),
    );
    // Hidden by visibility, so that showing it for a mentor moves nothing on the page.
    this.risk.closest("label").classList.toggle("invisible", !canSeeRisk);
    this.risk.disabled = !canSeeRisk;
  }

  /** Show `filter` in the form (after the back button, or a link), without telling. */
  show(filter) {
    const f = { ...NO_FILTER, ...filter };
    if (this.q.value !== f.q) this.q.value = f.q;
    this.risk.checked = f.risk;
    this.overdue.checked = f.overdue;
    this.milestone.value = [...this.milestone.options].some((o) => o.value === f.milestone) ? f.milestone : "";
    this.status.value = STATUSES.includes(f.status) ? f.status : "";
  }

  /** Say how many learners show (`text`: filters.js's filterSummary); `filtering` shows Clear. */
  showCount(text, filtering) {
    if (this.count.textContent !== text) this.count.textContent = text;
    this.clear.classList.toggle("invisible", !filtering);
    this.clear.disabled = !filtering;
  }
}
