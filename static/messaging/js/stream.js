// The tab's one event stream. It owns the EventSource, hands each event to the
// subscribers of its type (on(type, handler)), and starts from the position the server
// rendered into the page, so nothing falls between the render and the connect.
//
// When the connection fails it closes it and reconnects itself, with exponential backoff
// and full jitter (never sooner than the server's retry:, never sooner than a 429's
// Retry-After), resuming from the last event it saw. A connection that has said nothing,
// not even its keep-alive, for the server's silence limit (three keep-alive periods) is
// given up as dead and reconnected the same way: a proxy that dropped the stream, or a
// half-open connection, is silent without failing. While it is down it tells
// subscribers to poll ("poll") and shows an offline notice; "stream-reset" tells them
// their state is too old to catch up by events and must be reloaded from the API.
//
// Besides the server's event types, subscribers may listen to:
//   "state"       {state, previous}   idle | connecting | open | down | ended
//   "connected"   {reconnected}       the stream is (again) delivering events
//   "poll"        {}                  every few seconds while disconnected
//   "stream-reset" {channels}         reload lists and counts from the API

export const MESSAGE_TYPES = [
  "message:new",
  "message:read",
  "message:delete",
  "message:update",
  "message:attachment:added",
  "message:attachment:removed",
];

const HEALTHY_MS = 10_000; // open this long and the next failure starts the backoff afresh
const NOTICE_DELAY_MS = 1500; // a blip shorter than this shows no offline notice
const BACK_ONLINE_MS = 4000;
const PROBE_TIMEOUT_MS = 10_000;

const config = document.querySelector("[data-harbor-stream]");
const notice = document.querySelector("[data-connection-notice]");

function number(value, fallback) {
  const parsed = Number.parseInt(value ?? "", 10);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}

const options = config
  ? {
      url: config.dataset.streamUrl,
      retryMs: number(config.dataset.streamRetryMs, 2000),
      baseMs: Math.max(1, number(config.dataset.streamBaseBackoffMs, 1000)),
      maxMs: number(config.dataset.streamMaxBackoffMs, 60_000),
      pollMs: Math.max(1000, number(config.dataset.streamPollMs, 15_000)),
      silenceMs: Math.max(1000, number(config.dataset.streamSilenceMs, 45_000)),
    }
  : null;

/** Who and where this stream is for: {tenantId, userId}, or null on pages without one. */
export const streamConfig = config
  ? { tenantId: config.dataset.tenantId || "", userId: Number(config.dataset.userId) || null }
  : null;

const handlers = new Map(); // type -> Set of handlers

let source = null;
let state = "idle";
let lastId = config?.dataset.lastEventId || "";
let attempt = 0;
let reconnectTimer = null;
let healthyTimer = null;
let pollTimer = null;
let noticeTimer = null;
let clearNoticeTimer = null;
let silenceTimer = null;
let lastHeard = 0; // when the open connection last said anything (Date.now())
let offlineShown = false;
let started = false;

/** Call ``handler(data, meta)`` for every event of ``type``; returns a function that stops. */
export function on(type, handler) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(handler);
  return () => handlers.get(type)?.delete(handler);
}

function emit(type, data = {}, meta = {}) {
  for (const handler of [...(handlers.get(type) || [])]) {
    try {
      handler(data, { type, ...meta });
    } catch (error) {
      // One subscriber's bug must not starve the others of the event.
      console.error(`stream handler for ${type} failed`, error);
    }
  }
}

/** idle | connecting | open | down | ended */
export function streamState() {
  return state;
}

export function isConnected() {
  return state === "open";
}

/** The id of the last event seen: where a reconnect resumes. */
export function lastEventId() {
  return lastId;
}

function setState(next) {
  if (next === state) return;
  const previous = state;
  state = next;
  // Visible to styles and to tests: [data-harbor-stream][data-state="open"].
  config.dataset.state = next;
  emit("state", { state: next, previous });
}

function streamUrl({ withPosition = true } = {}) {
  const url = new URL(options.url, window.location.href);
  if (withPosition && lastId) url.searchParams.set("lastEventId", lastId);
  return url.toString();
}

// -- the notice -------------------------------------------------------------------------

function showNotice(kind) {
  if (!notice) return;
  clearTimeout(clearNoticeTimer);
  const text = {
    offline: config.dataset.offlineText,
    online: config.dataset.onlineText,
    ended: config.dataset.endedText,
  }[kind];
  notice.dataset.kind = kind;
  notice.textContent = text || "";
  notice.classList.add("is-visible");
  offlineShown = kind === "offline";
  if (kind === "online") {
    clearNoticeTimer = setTimeout(() => {
      notice.classList.remove("is-visible");
      notice.textContent = "";
      delete notice.dataset.kind;
    }, BACK_ONLINE_MS);
  }
}

// -- polling while disconnected ---------------------------------------------------------

function startPolling() {
  if (pollTimer) return;
  const tick = () => {
    pollTimer = null;
    if (state === "open" || state === "ended") return;
    emit("poll");
    schedule();
  };
  // Jittered too, so the tabs of one outage do not all ask at the same instant.
  const schedule = () => {
    pollTimer = setTimeout(tick, options.pollMs * (0.75 + Math.random() * 0.5));
  };
  schedule();
}

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

// -- the connection ---------------------------------------------------------------------

function closeSource() {
  if (source) {
    source.close();
    source = null;
  }
  clearTimeout(healthyTimer);
  clearInterval(silenceTimer);
  silenceTimer = null;
}

/** Give up on ``es`` if it has said nothing for the silence limit, opened or not. */
function watchSilence(es, isOpened) {
  lastHeard = Date.now();
  clearInterval(silenceTimer);
  // Checked against the clock, so a timer a background tab runs late still sees the gap.
  silenceTimer = setInterval(() => {
    if (source !== es) return;
    if (Date.now() - lastHeard > options.silenceMs) handleError({ opened: isOpened() });
  }, Math.max(250, Math.round(options.silenceMs / 4)));
}

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (state === "ended") return;
  closeSource();
  if (state !== "down") setState("connecting");
  const es = new EventSource(streamUrl());
  source = es;
  let opened = false;
  const heard = () => {
    if (source === es) lastHeard = Date.now();
  };
  watchSilence(es, () => opened);

  es.onopen = () => {
    if (source !== es) return;
    opened = true;
    heard();
    handleOpen();
  };
  es.onerror = () => {
    if (source !== es) return;
    handleError({ opened });
  };
  const dispatch = (event) => {
    if (source !== es) return;
    heard();
    let parsed = null;
    try {
      parsed = event.data ? JSON.parse(event.data) : {};
    } catch {
      return;
    }
    if (event.lastEventId && event.lastEventId !== "error") lastId = event.lastEventId;
    emit(event.type, parsed && "data" in parsed ? parsed.data : parsed, { id: event.lastEventId });
  };
  for (const type of MESSAGE_TYPES) es.addEventListener(type, dispatch);
  es.addEventListener("stream-reset", dispatch);
  // Nothing to hand on: it only says the connection is alive.
  es.addEventListener("keep-alive", heard);
  es.addEventListener("stream-open", heard);
  es.addEventListener("stream-error", (event) => {
    if (source !== es) return;
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch {
      data = {};
    }
    if (data.condition === "forbidden") end();
    else handleError({ opened: true });
  });
}

function handleOpen() {
  const reconnected = state === "down";
  clearTimeout(noticeTimer);
  stopPolling();
  setState("open");
  if (offlineShown) showNotice("online");
  healthyTimer = setTimeout(() => {
    attempt = 0;
  }, HEALTHY_MS);
  emit("connected", { reconnected });
}

function goDown() {
  if (state === "down") return;
  setState("down");
  startPolling();
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => showNotice("offline"), navigator.onLine === false ? 0 : NOTICE_DELAY_MS);
}

async function handleError({ opened }) {
  closeSource();
  goDown();
  if (opened) {
    scheduleReconnect();
    return;
  }
  // It never opened: EventSource does not say why, so ask the server once ourselves.
  const { status, retryAfter } = await probe();
  if (state === "ended") return;
  if (status === 401 || status === 403 || status === 404) {
    end();
  } else if (status === 429) {
    const seconds = Number.parseFloat(retryAfter || "");
    scheduleReconnect(Number.isFinite(seconds) ? seconds * 1000 + Math.random() * 1000 : 0);
  } else {
    scheduleReconnect();
  }
}

/** What the stream URL answers now: {status (0 for no answer), retryAfter}. */
async function probe() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    // Without a position: a 200 here is dropped at once and should replay nothing.
    const response = await fetch(streamUrl({ withPosition: false }), {
      headers: { Accept: "text/event-stream" },
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
    return { status: response.status, retryAfter: response.headers.get("Retry-After") };
  } catch {
    return { status: 0, retryAfter: null };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Exponential backoff with full jitter, never below the server's retry: or ``atLeast``. */
function scheduleReconnect(atLeast = 0) {
  clearTimeout(reconnectTimer);
  attempt += 1;
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt - 1, 30));
  const delay = Math.max(options.retryMs, atLeast, Math.random() * ceiling);
  reconnectTimer = setTimeout(connect, delay);
}

function end() {
  closeSource();
  clearTimeout(reconnectTimer);
  clearTimeout(noticeTimer);
  stopPolling();
  setState("ended");
  showNotice("ended");
}

function start() {
  if (started || !options) return;
  started = true;
  connect();
  window.addEventListener("offline", () => {
    if (state !== "ended") showNotice("offline");
  });
  window.addEventListener("online", () => {
    // The network is back: try soon rather than at the end of a long backoff.
    if (state === "down" && reconnectTimer) {
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connect, Math.random() * 1000);
    }
  });
  // Let the page into the back/forward cache, and resume where it left off on return.
  window.addEventListener("pagehide", (event) => {
    if (event.persisted) closeSource();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && state !== "ended") connect();
  });
}

// Subscribers register while the page's modules evaluate; connect once they all have.
if (document.readyState === "complete") start();
else document.addEventListener("DOMContentLoaded", start, { once: true });
