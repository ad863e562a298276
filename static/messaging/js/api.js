// The JSON API client: same-origin fetch, the CSRF header on unsafe methods, and one error
// type that carries the API's {"error": {"code", "message", "details"}}.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor({ status, code, message, details }) {
    super(message || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || "unknown";
    this.details = details || {};
  }

  /** The form field the server blamed, if it named one. */
  get field() {
    return typeof this.details.field === "string" ? this.details.field : null;
  }
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

export function csrfToken() {
  // The cookie is the fresher of the two after a login in another tab rotates it.
  return readCookie("csrftoken") || document.body.dataset.csrfToken || "";
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Call the API. Resolves with the parsed JSON (null for 204), rejects with ApiError.
 * A network failure becomes ApiError with code "network" and status 0.
 */
export async function request(method, path, { query, json, signal } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  if (UNSAFE.has(method)) headers["X-CSRFToken"] = csrfToken();

  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "network", message: error.message });
  }
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError({
      status: response.status,
      code: error.code || (response.status === 401 ? "not_authenticated" : "http_error"),
      message: error.message || response.statusText,
      details: error.details,
    });
  }
  return data;
}

export const api = {
  get: (path, query, options) => request("GET", path, { ...options, query }),
  post: (path, json, options) => request("POST", path, { ...options, json }),
  patch: (path, json, options) => request("PATCH", path, { ...options, json }),
  delete: (path, options) => request("DELETE", path, options),
};

/** The messaging endpoints of API.md, rooted where the page says (data-api-root). */
export function messagingApi(root = "/api/messaging/") {
  const url = (tail) => root + tail;
  return {
    list: ({ tenantId, box, q, cursor, limit, unread }, options) =>
      api.get(url("messages"), { tenantId, box, q, cursor, limit, unread: unread ? 1 : "" }, options),
    message: (id) => api.get(url(`messages/${encodeURIComponent(id)}`)),
    thread: (threadId) => api.get(url(`threads/${encodeURIComponent(threadId)}`)),
    send: (payload) => api.post(url("send"), payload),
    edit: (id, changes) => api.patch(url(`messages/${encodeURIComponent(id)}`), changes),
    remove: (id) => api.delete(url(`messages/${encodeURIComponent(id)}`)),
    markRead: (id, read) => api.post(url(`messages/${encodeURIComponent(id)}/read`), { read }),
    markAllRead: (tenantId) => api.post(url("messages/read-all"), { tenantId }),
    unreadCount: (tenantId) => api.get(url("unread-count"), { tenantId }),
    stats: (tenantId) => api.get(url("stats"), { tenantId }),
    members: (tenantId, q, options) => api.get(url("members"), { tenantId, q }, options),
  };
}
