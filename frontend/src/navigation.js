// Where the page is, kept in the URL hash (route.js): the cohort, the matrix's filters and
// the learner whose story is open. A change made on the page is a new history entry (the
// back button undoes it; typing a name is one entry, see views/filterbar.js); the back
// button, a link or an edited URL is applied to the page the same way.

import { h, replaceChildren } from "./dom.js";
import { effectiveFilter, filterSummary, isFiltering } from "./filters.js";
import { STATUS_LABEL } from "./format.js";
import { NO_FILTER, parseRoute, routeHash, sameRoute } from "./route.js";

/**
 * Return the page's navigation. page: {cohorts(), cohortId(), state(), canSeeRisk(),
 * loadCohort(id), matrix, filterBar, panel, picker, notify}.
 */
export function createNavigation(page) {
  const { matrix, filterBar, panel, picker, notify } = page;
  let route = parseRoute(location.hash);
  let opener = null; // what opened the panel, to return focus to

  const cohortShown = () => page.cohortId();

  // The URL is written after the frame that shows the change: a history call can take
  // milliseconds of that frame. Writes within one frame make one entry (a push wins).
  let pending = null;
  function write(next, { replace = false } = {}) {
    const hash = routeHash(next) || location.pathname;
    if (pending) {
      pending = { hash, replace: pending.replace && replace };
      return;
    }
    pending = { hash, replace };
    const flush = () => {
      if (!pending) return;
      const { hash: url, replace: inPlace } = pending;
      pending = null;
      if (inPlace) history.replaceState(null, "", url);
      else history.pushState(null, "", url);
    };
    requestAnimationFrame(() => setTimeout(flush, 0));
    setTimeout(flush, 100); // a hidden tab runs no animation frames
  }

  /** Go to `changes` of the route: write the URL, then show it. */
  function go(changes, options) {
    const next = { ...route, ...changes, filter: { ...route.filter, ...(changes.filter ?? {}) } };
    if (sameRoute(next, route)) return;
    write(next, options);
    apply(next);
  }

  function apply(next) {
    route = next;
    if (route.cohort !== null && route.cohort !== cohortShown()) {
      if (!page.cohorts().some((c) => c.id === route.cohort)) {
        notify(`Cohort ${route.cohort} is not available to you.`, "warn");
        return;
      }
      panel.close({ restoreFocus: false });
      picker.value = String(route.cohort);
      page.loadCohort(route.cohort); // refresh() follows its snapshot
      return;
    }
    applyFilter();
    applyLearner();
  }

  function applyFilter() {
    const state = page.state();
    filterBar.show(route.filter);
    if (!state) return;
    const started = performance.now();
    matrix.setFilter(effectiveFilter(route.filter, { milestones: state.milestones, canSeeRisk: page.canSeeRisk() }));
    // One User Timing measure per filter change: what the browser test reports.
    performance.measure("dashboard.filter", { start: started, end: performance.now() });
  }

  function applyLearner() {
    const state = page.state();
    if (!state) return;
    const id = route.learner;
    if (id === null) {
      panel.close();
      return;
    }
    if (!state.learners[id]) {
      notify(`Learner ${id} is not in ${state.cohort.name}.`, "warn");
      route = { ...route, learner: null };
      write(route, { replace: true });
      panel.close({ restoreFocus: false });
      return;
    }
    if (panel.openId === id) return;
    const from = opener ?? matrix.nameButton(id);
    opener = null;
    panel.open(state, id, from);
  }

  /** Return the cohort to show first: the URL's, or the first one (and say why). */
  function firstCohort() {
    const found = page.cohorts().find((c) => c.id === route.cohort);
    if (route.cohort === null || !found) {
      const raw = new URLSearchParams(location.hash.slice(1)).get("cohort");
      if (raw !== null) notify(`Cohort ${raw} is not available to you, so this is ${page.cohorts()[0].name}.`, "warn");
      // Filters and a learner belong to the cohort the link named: not carried to another.
      if (raw !== null) route = { cohort: null, filter: { ...NO_FILTER }, learner: null };
      route = { ...route, cohort: page.cohorts()[0].id };
    }
    write(route, { replace: true });
    return route.cohort;
  }

  function buildPicker(selected) {
    replaceChildren(
      picker,
      page.cohorts().map((c) =>
        h("option", { value: String(c.id), selected: c.id === selected }, `${c.name} (${c.learner_count} learners)`),
      ),
    );
    // Another cohort: a fresh start there (filters name this cohort's milestones and people).
    picker.addEventListener("change", () => go({ cohort: Number(picker.value), filter: { ...NO_FILTER }, learner: null }));
  }

  function onPop() {
    pending = null; // the back button wins over a write not made yet
    const next = parseRoute(location.hash);
    if (next.cohort === null) next.cohort = cohortShown();
    if (!sameRoute(next, route)) apply(next);
  }

  return {
    /** Read the URL, build the cohort picker; return the cohort to load first. */
    start() {
      const first = firstCohort();
      buildPicker(first);
      addEventListener("popstate", onPop);
      addEventListener("hashchange", onPop);
      return first;
    },
    /** After a snapshot: its milestones in the form, the filter, the learner of the URL. */
    refresh() {
      const state = page.state();
      filterBar.setup(state.milestones, { canSeeRisk: page.canSeeRisk() });
      applyFilter();
      if (panel.openId !== null && panel.openId === route.learner) panel.reload(state);
      else applyLearner();
    },
    /** After live changes: the open story follows them (the matrix re-filters by itself). */
    changed(state, changes) {
      panel.update(state, changes);
    },
    /** Say how many learners the filter shows. */
    counted(shown, total) {
      const state = page.state();
      if (!state) return;
      const filter = effectiveFilter(route.filter, { milestones: state.milestones, canSeeRisk: page.canSeeRisk() });
      filterBar.showCount(filterSummary(shown, total, filter, state.milestones, STATUS_LABEL), isFiltering(filter));
    },
    filterChanged(filter, { replace }) {
      go({ filter }, { replace });
    },
    openLearner(learnerId, from) {
      opener = from;
      if (route.learner === learnerId && panel.openId === learnerId) return panel.open(page.state(), learnerId, from);
      go({ learner: learnerId });
    },
    closeLearner() {
      go({ learner: null });
    },
  };
}
