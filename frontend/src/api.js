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
  if (response.status === 401) {
    // The session ended: back to the login page, then here again.
    window.location.assign(`/login/?next=${encodeURIComponent(window.location.pathname + window.location.hash)}`);
  }
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
  kudos: (cohortId, seq) => request("POST", `/api/cohorts/${cohortId}/events/${seq}/kudos/`),
  comment: (cohortId, seq, text) =>
    request("POST", `/api/cohorts/${cohortId}/events/${seq}/comments/`, { text }),
  cacheMetrics: () => request("GET", "/api/metrics/cache/"),
};
