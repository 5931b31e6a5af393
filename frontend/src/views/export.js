// The cohort on paper and in a spreadsheet: the "Download CSV" link (mentors and staff)
// and the line a printout carries (the cohort and when it was printed). The print layout
// itself is styles.css's `@media print`.

import { fullTime } from "../format.js";

/** Point the link at the cohort's export.csv for mentors and staff; hide it from anyone else. */
export function showExport(link, role, cohortId) {
  const allowed = role === "mentor" || role === "staff";
  link.hidden = !allowed;
  link.classList.remove("pending");
  if (allowed) link.setAttribute("href", `/api/cohorts/${cohortId}/export.csv`);
  else link.removeAttribute("href");
}

/** Return the printout's line: "Printed 4 Dec 2026, 03:10:12 UTC · ProDev BE Cohort 7". */
export function printStamp(now, cohortName) {
  const when = `Printed ${fullTime(new Date(now).toISOString())}`;
  return cohortName ? `${when} · ${cohortName}` : when;
}

/** Keep the stamp's time current: set now and whenever the page is about to print. */
export function watchPrint(stamp, cohortName) {
  const set = () => {
    stamp.textContent = printStamp(Date.now(), cohortName());
  };
  set();
  window.addEventListener("beforeprint", set);
  window.matchMedia?.("print").addEventListener?.("change", (e) => e.matches && set());
  return set;
}
