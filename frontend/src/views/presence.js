// Who is viewing the cohort now: one avatar per person; an online at-risk learner is
// marked so a mentor can reach out while they are here.

import { h, replaceChildren } from "../dom.js";
import { initials } from "../format.js";

/** Return the learner row of a presence entry: by user id, else (a learner added live,
 * whose learner.added event carries no user id) by name. */
export function learnerOfEntry(state, entry) {
  let byName = null;
  for (const id of state.order) {
    const learner = state.learners[id];
    if (learner.user === entry.user.id) return learner;
    if (entry.role === "learner" && learner.user === null && learner.name === entry.user.name) {
      byName ??= learner;
    }
  }
  return byName;
}

export function renderPresence(root, state, me) {
  const entries = state.presence;
  const items = entries.map((entry) => {
    const learner = learnerOfEntry(state, entry);
    const atRisk = learner?.at_risk === true; // null: a peer's risk, not this viewer's to know
    const you = me && entry.user.id === me.id;
    const label = `${entry.user.name}${you ? " (you)" : ""}, ${entry.role}${atRisk ? ", at risk" : ""}`;
    return h(
      "li",
      {
        class: `avatar role-${entry.role}${atRisk ? " at-risk" : ""}`,
        title: atRisk ? `${label}: ${learner.risk_reasons.join("; ")}` : label,
        dataset: { user: String(entry.user.id) },
      },
      h("span", { class: "bubble", "aria-hidden": "true" }, initials(entry.user.name)),
      h("span", { class: "who" }, entry.user.name, you ? " (you)" : ""),
      atRisk ? h("span", { class: "flag" }, "⚠ at risk") : null,
      h("span", { class: "sr-only" }, `, ${entry.role}`),
    );
  });
  replaceChildren(
    root,
    h("p", { class: "muted small" }, `${entries.length} viewing now`),
    h("ul", { class: "presence", "aria-label": "People viewing this cohort now" }, items),
  );
}
