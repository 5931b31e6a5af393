// What the connection badge and the caught-up notice say (the badge's state itself is
// sync.js's badgeOf). Pure: tested without a browser.

export const LABEL = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  "catching-up": "Catching up…",
  stale: "Stale",
  offline: "Offline",
  ended: "Session ended",
};

/** Return the notice shown once a reconnect has caught up. */
export function caughtUpMessage({ events, offlineMs, reloaded = false }) {
  const seconds = Math.max(0, Math.round(offlineMs / 1000));
  const noun = events === 1 ? "event" : "events";
  if (reloaded) return `Reloaded the cohort after ${seconds} s offline (${events} ${noun} behind)`;
  return `Caught up ${events} ${noun} after ${seconds} s offline`;
}
