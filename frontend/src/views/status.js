// The page's status: the connection badge, the "not live" banner, notices, and the
// "session ended" message with its way back. Notices and the banner overlay the page
// (position: fixed in styles.css), so showing one never moves the content.

import { h, replaceChildren } from "../dom.js";
import { LABEL } from "../connection.js";
import { clockTime } from "../format.js";

const $ = (id) => document.getElementById(id);

let noticeTimer = null;

/**
 * Show `text` for `holdMs` (kind: info | ok | warn); `action` ({label, run}) adds a button
 * that lasts as long as the notice ("Undo"). A later notice replaces this one.
 */
export function notify(text, kind = "info", holdMs = 15_000, action = null) {
  const el = $("notice");
  el.className = `notice ${kind}`;
  if (action) {
    const button = h("button", { type: "button", class: "notice-action" }, action.label);
    button.addEventListener("click", () => {
      button.disabled = true;
      action.run();
    });
    replaceChildren(el, `${text} `, button);
  } else {
    el.textContent = text;
  }
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    el.hidden = true;
  }, holdMs);
}

/**
 * Show the badge `label` (see sync.badgeOf) and, when not live, mark as stale everything
 * that is live data: the matrix, the figures, presence and the cache panel.
 */
export function renderConnection(label, state) {
  const badge = $("connection");
  badge.dataset.state = label;
  badge.textContent = LABEL[label];
  document.body.dataset.connection = label;
  const notLive = label !== "live";
  for (const panel of document.querySelectorAll("[data-live]")) {
    if (notLive) panel.dataset.stale = "true";
    else delete panel.dataset.stale;
  }
  const banner = $("stale-banner");
  banner.hidden = !notLive || !state || label === "ended";
  if (!banner.hidden) {
    banner.textContent =
      label === "catching-up"
        ? "Catching up on missed events…"
        : `Not live: showing the cohort, who is viewing and the cache as of ${clockTime(state.lastEventAt, { zone: true })} (last event). Changes can't be saved until the page is live again.`;
  }
}

/** Return the sign-in address that comes back to `cohortId` on this page. */
export function signInUrl(cohortId) {
  const next = cohortId === null ? "/" : `/#cohort=${cohortId}`;
  return `/login/?next=${encodeURIComponent(next)}`;
}

/** Say that the session ended (why), with a sign-in link back to the same cohort. */
export function renderSessionEnded(reason, cohortId) {
  const why =
    reason === "logged-out"
      ? "You logged out in another tab or window."
      : "Your session has ended (it expired, or you signed out elsewhere).";
  const box = $("session-ended");
  replaceChildren(
    box,
    h("strong", {}, "Session ended. "),
    `${why} Live updates have stopped and changes can't be saved. `,
    h("a", { href: signInUrl(cohortId), id: "sign-in-again" }, "Sign in again"),
    " to return to this cohort.",
  );
  box.hidden = false;
}
