// REST calls of api.md with the browser's session: the CSRF token goes on unsafe methods.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** Return the value of cookie `name` from a `document.cookie` string, or "". */
export function cookieValue(cookies, name) {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

export function csrfToken() {
  return cookieValue(document.cookie, "csrftoken");
}

/**
 * Return a refusal or a failure as a sentence a person can act on (never "Failed to
 * fetch"): the server's own message when it gave one, else what happened.
 */
export function errorSentence(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Your session has ended: sign in again.";
    const message = error.body?.error?.message;
    if (message) return /[.!?]$/.test(message.trim()) ? message.trim() : `${message.trim()}.`;
    if (error.status === 403) return "You are not allowed to do that.";
    if (error.status === 404) return "It no longer exists.";
    if (error.status === 429) return "Too many changes at once: wait a moment and try again.";
    if (error.status >= 500) return "The server had a problem: try again in a moment.";
    return `The server refused it (HTTP ${error.status}).`;
  }
  // fetch rejects with a TypeError when the network or the server is gone.
  return "The server could not be reached: check the connection; the page reconnects by itself.";
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("application/json")) data = await response.json();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  me: () => request("GET", "/api/me/"),
  cohorts: () => request("GET", "/api/cohorts/"),
  snapshot: (cohortId) => request("GET", `/api/cohorts/${cohortId}/snapshot/`),
  events: (cohortId, after, limit = 500) =>
    request("GET", `/api/cohorts/${cohortId}/events/?after=${after}&limit=${limit}`),
  progress: (cohortId, learnerId, slug, body) =>
    request(
      "PATCH",
      `/api/cohorts/${cohortId}/progress/${learnerId}/${encodeURIComponent(slug)}/`,
      body,
    ),
  timeline: (cohortId, learnerId, { before = null, limit = 50 } = {}) =>
    request(
      "GET",
      `/api/cohorts/${cohortId}/learners/${learnerId}/timeline/?limit=${limit}${before === null ? "" : `&before=${before}`}`,
    ),
  history: (cohortId, learnerId, slug) =>
    request("GET", `/api/cohorts/${cohortId}/progress/${learnerId}/${encodeURIComponent(slug)}/history/`),
  kudos: (cohortId, seq) => request("POST", `/api/cohorts/${cohortId}/events/${seq}/kudos/`),
  comment: (cohortId, seq, text) =>
    request("POST", `/api/cohorts/${cohortId}/events/${seq}/comments/`, { text }),
  programOverview: () => request("GET", "/api/program/overview/"),
  cacheMetrics: ({ history = 600, every = 10 } = {}) =>
    request("GET", `/api/metrics/cache/?history=${history}&every=${every}`),
};
