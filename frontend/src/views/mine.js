// A learner's own view: their milestones with the week each is expected by, and what is next.

import { h, replaceChildren } from "../dom.js";
import { STATUS_LABEL, cellText, dayDate, percent } from "../format.js";
import { isOverdue, nextMilestone } from "../risk.js";
import { LEARNER_TRANSITIONS, learnerCompletion } from "../state.js";

const ACTION = { in_progress: "Start", submitted: "Submit" };

/** onMove(slug, status) asks for a status change of the learner's own cell. */
export function renderMine(root, state, learnerId, { onMove, today }) {
  const learner = state.learners[learnerId];
  if (!learner) {
    replaceChildren(root);
    return;
  }
  const next = nextMilestone(learner.progress, state.milestones);
  const nextBlock = next
    ? h(
        "div",
        { class: "next" },
        h("p", {}, h("strong", {}, "Next: "), `${next.title} — expected by week ${next.week} (${dayDate(next.due_date)})`,
          next.due_date < today ? h("span", { class: "late" }, " · overdue") : null),
        h(
          "p",
          { class: "actions" },
          (LEARNER_TRANSITIONS[learner.progress[next.slug]?.status ?? "not_started"] ?? []).map((to) =>
            h(
              "button",
              { type: "button", class: "primary small", onclick: () => onMove(next.slug, to) },
              `${ACTION[to] ?? "Back to in progress"}: ${next.title}`,
            ),
          ),
        ),
      )
    : h("p", { class: "next" }, "Everything is submitted or completed. Well done!");
  const rows = state.milestones.map((m) => {
    const cell = learner.progress[m.slug] ?? { status: "not_started", score: null };
    const late = isOverdue(cell.status, m, today);
    return h(
      "li",
      { class: `mine-item s-${cell.status}${late ? " late" : ""}`, dataset: { milestone: m.slug } },
      h("span", { class: "mine-status", "aria-hidden": "true" }, cellText(cell)),
      h("span", { class: "mine-title" }, m.title),
      h("span", { class: "mine-week" }, `week ${m.week} · ${dayDate(m.due_date)}`),
      h(
        "span",
        { class: "sr-only" },
        `: ${STATUS_LABEL[cell.status]}${cell.score != null ? `, score ${cell.score}` : ""}${late ? ", overdue" : ""}`,
      ),
    );
  });
  replaceChildren(
    root,
    h("p", {}, `${learner.name}: ${percent(learnerCompletion(learner, state.milestones))} completed`),
    learner.at_risk
      ? h("p", { class: "warn-text" }, `At risk: ${learner.risk_reasons.join("; ")}`)
      : h("p", { class: "ok-text" }, "On track"),
    nextBlock,
    h("ol", { class: "mine-list", "aria-label": "My milestones" }, rows),
  );
}
