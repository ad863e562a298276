// The app bar's unread badge, on every Harbor page. It asks /api/messaging/unread-count
// every 30 s and whenever the tab becomes visible again; the messaging page (and later the
// event stream) calls setUnreadCount() so the badge never lags what the page shows.

import { api } from "./api.js";

const POLL_MS = 30_000;
const EVENT = "harbor:unread-count";

const badge = document.querySelector("[data-unread-badge]");
let current = badge ? Number.parseInt(badge.dataset.count || "0", 10) || 0 : 0;
let timer = null;
let inFlight = null;
let stopped = false;

function render(count) {
  if (!badge) return;
  badge.dataset.count = String(count);
  const number = badge.querySelector(".badge__count");
  const label = badge.querySelector(".badge__label");
  const shown = count > 99 ? "99+" : String(count);
  if (number) number.textContent = shown;
  if (label) {
    const template = badge.dataset.labelTemplate || "{count} unread";
    label.textContent = template.replace("{count}", String(count));
  }
  badge.hidden = count <= 0;
}

/** The count the badge shows now. */
export function unreadCount() {
  return current;
}

/** Show ``count`` and tell listeners (the messaging page's stats) about it. */
export function setUnreadCount(count, { source = "page" } = {}) {
  const value = Math.max(0, Math.trunc(Number(count) || 0));
  const changed = value !== current;
  current = value;
  render(value);
  if (changed || source === "poll") {
    document.dispatchEvent(new CustomEvent(EVENT, { detail: { count: value, source } }));
  }
}

/** Listen for count changes; returns a function that stops listening. */
export function onUnreadCount(listener) {
  const handler = (event) => listener(event.detail.count, event.detail.source);
  document.addEventListener(EVENT, handler);
  return () => document.removeEventListener(EVENT, handler);
}

/** Ask the server now (one request at a time); resolves with the count or null. */
export function refreshUnreadCount() {
  if (!badge || stopped) return Promise.resolve(null);
  if (inFlight) return inFlight;
  const tenantId = badge.dataset.tenantId || "";
  if (!tenantId) return Promise.resolve(null);
  inFlight = api
    .get(badge.dataset.countUrl || "/api/messaging/unread-count", { tenantId })
    .then((data) => {
      setUnreadCount(data.count, { source: "poll" });
      return data.count;
    })
    .catch((error) => {
      // Logged out elsewhere or no longer a member: polling cannot succeed again.
      if (error.status === 401 || error.status === 403 || error.status === 404) stop();
      return null;
    })
    .finally(() => {
      inFlight = null;
    });
  return inFlight;
}

function schedule() {
  clearTimeout(timer);
  if (stopped) return;
  timer = setTimeout(async () => {
    if (document.visibilityState === "visible") await refreshUnreadCount();
    schedule();
  }, POLL_MS);
}

function stop() {
  stopped = true;
  clearTimeout(timer);
}

if (badge) {
  render(current);
  schedule();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      refreshUnreadCount();
      schedule();
    }
  });
}
