// Noticing that the session ended without a request failing: a logout in another tab of
// this browser (told over BroadcastChannel, or a localStorage key where that is missing),
// a logout elsewhere (checked when the tab becomes visible again), and the network.

// Tabs of this origin tell each other of a logout (the logout form posts it).
const LOGOUT_CHANNEL = "dashboard-session";

/**
 * Watch for the session ending; call onEnded("logged-out") when another tab logs out,
 * onVisible() when the tab shows again, onNetwork(online) when the browser says so.
 * `form` is this tab's logout form: onLogout() runs as it is posted, then other tabs hear.
 */
export function watchSession({ form, onLogout, onEnded, onVisible, onNetwork }) {
  const channel = "BroadcastChannel" in globalThis ? new BroadcastChannel(LOGOUT_CHANNEL) : null;
  form.addEventListener("submit", () => {
    onLogout();
    channel?.postMessage({ type: "logout" });
    localStorage.setItem(LOGOUT_CHANNEL, String(Date.now()));
  });
  if (channel) {
    channel.onmessage = (e) => {
      if (e.data?.type === "logout") onEnded("logged-out");
    };
  }
  addEventListener("storage", (e) => {
    if (e.key === LOGOUT_CHANNEL) onEnded("logged-out");
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") onVisible();
  });
  addEventListener("online", () => onNetwork(true));
  addEventListener("offline", () => onNetwork(false));
}
