// The app bar's unread badge, on every Harbor page (the plan's useUnreadMessageCount).
//
// Its number comes from the event stream: the absolute unreadCount that events meant for
// this user carry, or one more for a message sent to the whole tenant (which carries
// none). While the stream is down it asks /api/messaging/unread-count instead. The
// messaging page takes the badge over (followPage) and drives it from its own counts, so
// the two never disagree; other tabs of this browser hear of changes made here through a
// BroadcastChannel, and hear every event on their own streams.

import { api } from "./api.js";
import * as stream from "./stream.js";

const POLL_MS = 30_000; // only on pages without a stream
const EVENT = "harbor:unread-count";
const BUMP_MS = 700;

const badge = document.querySelector("[data-unread-badge]");
const tenantId = badge?.dataset.tenantId || "";
const userId = stream.streamConfig?.userId ?? null;
let current = badge ? Number.parseInt(badge.dataset.count || "0", 10) || 0 : 0;
let timer = null;
let inFlight = null;
let stopped = false;
let pageOwns = false;
const counted = new Set(); // tenant-wide messages already counted as one more
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("harbor-messaging") : null;

function render(count, { bump = false } = {}) {
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
  if (bump && count > 0) {
    badge.classList.remove("badge--bump");
    // Reading layout restarts the animation when two messages come in a row.
    void badge.offsetWidth;
    badge.classList.add("badge--bump");
    setTimeout(() => badge.classList.remove("badge--bump"), BUMP_MS);
  }
}

/** The count the badge shows now. */
export function unreadCount() {
  return current;
}

/**
 * Show ``count`` and tell listeners (the messaging page's stats) about it. ``source`` is
 * "page" for a change this tab made (told to other tabs too), "stream", "poll", "api" or
 * "tab" (another tab's change).
 */
export function setUnreadCount(count, { source = "page" } = {}) {
  const value = Math.max(0, Math.trunc(Number(count) || 0));
  const changed = value !== current;
  const rose = value > current;
  current = value;
  render(value, { bump: rose && source !== "page" });
  if (changed || source === "poll") {
    document.dispatchEvent(new CustomEvent(EVENT, { detail: { count: value, source } }));
  }
  // Other tabs get each event on their own stream; only what this tab did is news to them.
  if (changed && source === "page" && tabs && tenantId) {
    tabs.postMessage({ kind: "unread-count", tenantId, count: value });
  }
}

/** Listen for count changes; returns a function that stops listening. */
export function onUnreadCount(listener) {
  const handler = (event) => listener(event.detail.count, event.detail.source);
  document.addEventListener(EVENT, handler);
  return () => document.removeEventListener(EVENT, handler);
}

/** The messaging page keeps the count from now on; the badge stops reading events itself. */
export function followPage() {
  pageOwns = true;
}

/** Ask the server now (one request at a time); resolves with the count or null. */
export function refreshUnreadCount() {
  if (!badge || stopped) return Promise.resolve(null);
  if (inFlight) return inFlight;
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
  if (stopped || stream.streamConfig) return;
  timer = setTimeout(async () => {
    if (document.visibilityState === "visible") await refreshUnreadCount();
    schedule();
  }, POLL_MS);
}

function stop() {
  stopped = true;
  clearTimeout(timer);
}

function countFrom(payload) {
  return payload && typeof payload.unreadCount === "number" ? payload.unreadCount : null;
}

let refreshTimer = null;
/** A change whose effect on the count the event does not tell: ask, a little later. */
function refreshSoon() {
  clearTimeout(refreshTimer);
  // Spread out, so one tenant-wide change does not bring every tab at the same instant.
  refreshTimer = setTimeout(refreshUnreadCount, 250 + Math.random() * 1500);
}

if (badge) {
  render(current);

  stream.on("message:new", (data) => {
    if (pageOwns) return;
    const payload = data.payload || {};
    const absolute = countFrom(payload);
    if (absolute !== null) {
      setUnreadCount(absolute, { source: "stream" });
      return;
    }
    const message = payload.message;
    if (!message || message.sender?.id === userId || counted.has(data.messageId)) return;
    counted.add(data.messageId);
    setUnreadCount(current + 1, { source: "stream" });
  });
  stream.on("message:read", (data) => {
    const absolute = countFrom(data.payload);
    if (!pageOwns && absolute !== null) setUnreadCount(absolute, { source: "stream" });
  });
  stream.on("message:delete", (data) => {
    if (pageOwns) return;
    const absolute = countFrom(data.payload);
    if (absolute !== null) setUnreadCount(absolute, { source: "stream" });
    else refreshSoon();
  });
  stream.on("stream-reset", () => refreshUnreadCount());
  stream.on("poll", () => refreshUnreadCount());

  tabs?.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.kind === "unread-count" && data.tenantId === tenantId) {
      setUnreadCount(data.count, { source: "tab" });
    }
  });

  schedule();
  document.addEventListener("visibilitychange", () => {
    // With a working stream the count is already current; without one, catch up now.
    if (document.visibilityState === "visible" && !stream.isConnected()) {
      refreshUnreadCount();
      schedule();
    }
  });
}
