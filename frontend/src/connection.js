// What the connection badge says, from the socket's state and the subscription's phase.
// Pure, so the rule "stale data is never shown as live" is tested without a browser.

export const LABEL = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  "catching-up": "Catching up…",
  stale: "Stale",
};

/**
 * Return one of connecting | live | reconnecting | catching-up | stale.
 *
 * socket: "connecting" | "open" | "stale" | "down"; phase: "subscribing" | "catching-up" |
 * "reloading" | "live"; everConnected: whether the page has been live before.
 */
export function connectionState({ socket, phase, everConnected }) {
  if (socket === "down" || socket === "connecting") return everConnected ? "reconnecting" : "connecting";
  if (socket === "stale") return "stale";
  if (phase === "live") return "live";
  return everConnected ? "catching-up" : "connecting";
}

/** Return the notice shown once a reconnect has caught up. */
export function caughtUpMessage({ events, offlineMs, reloaded = false }) {
  const seconds = Math.max(0, Math.round(offlineMs / 1000));
  const noun = events === 1 ? "event" : "events";
  if (reloaded) return `Reloaded the cohort after ${seconds} s offline (${events} ${noun} behind)`;
  return `Caught up ${events} ${noun} after ${seconds} s offline`;
}
