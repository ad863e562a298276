// Live updates on the messaging page: the event stream's events fed into the store (new
// messages, read state, deletions, edits, attachments, counts), a short notice and an
// announcement for each new message, and a reload from the API after a stream-reset or,
// while the stream is down, every time it says to poll.

import * as stream from "./stream.js";
import { subjectText } from "./format.js";
import { t } from "./strings.js";

const SETTLE_MS = 1000;
const ANNOUNCE_GATHER_MS = 300;

function countFrom(payload) {
  return payload && typeof payload.unreadCount === "number" ? payload.unreadCount : null;
}

export function connectLive({ root, store, messaging, announce, counts }) {
  const listed = () => !store.q; // a search lists only matches: new mail is counted, not shown
  const reader = root.querySelector("[data-reader]");

  // Messages arriving together (a replay after a reconnect) are announced as one line.
  let arrivals = [];
  let arrivalsTimer = null;
  function announceNew(messages) {
    arrivals.push(...messages.filter((m) => !m.isSender && m.sender?.id !== store.userId));
    clearTimeout(arrivalsTimer);
    arrivalsTimer = setTimeout(() => {
      const incoming = arrivals;
      arrivals = [];
      if (incoming.length === 1) {
        const [message] = incoming;
        announce(
          t("newMessageFrom", { name: message.sender?.name || "", subject: subjectText(message.subject) }),
        );
      } else if (incoming.length > 1) {
        announce(t("newMessages", { count: incoming.length }));
      }
    }, ANNOUNCE_GATHER_MS);
  }

  stream.on("message:new", ({ payload }) => {
    const message = payload?.message;
    if (!message || store.hasSeen(message.id)) return; // a replay of what the page shows
    store.remember(message.id);
    const absolute = countFrom(payload);
    if (message.isSender || message.sender?.id === store.userId) {
      // Sent from another tab (or the stream beat the composer's own answer).
      if (store.box === "sent" && listed()) store.prepend(message, { fresh: true });
      store.adjustStats({ sent: +1 }, { source: "stream" });
    } else {
      if (store.box === "inbox" && listed()) store.prepend(message, { fresh: true });
      store.adjustStats(
        {
          total: +1,
          withAttachments: message.hasAttachments ? +1 : 0,
          // A message to the whole tenant carries no count: it is one more unread.
          unread: absolute === null ? +1 : 0,
        },
        { source: "stream" },
      );
      announceNew([message]);
    }
    if (absolute !== null) store.setStats({ unread: absolute }, { source: "stream" });
  });

  stream.on("message:read", ({ messageId, payload = {} }) => {
    const absolute = countFrom(payload);
    if (payload.all) {
      store.markAllRead({ readAt: payload.readAt ?? null, unread: absolute ?? 0, source: "stream" });
      return;
    }
    if (messageId !== null && store.has(messageId)) {
      store.update(messageId, { isRead: Boolean(payload.read), readAt: payload.readAt ?? null });
    }
    if (absolute !== null) store.setStats({ unread: absolute }, { source: "stream" });
  });

  stream.on("message:delete", ({ messageId, payload = {} }) => {
    const wasOpen = store.openId === Number(messageId);
    const hadFocus = wasOpen && reader?.contains(document.activeElement);
    if (store.has(messageId)) store.remove(messageId);
    const absolute = countFrom(payload);
    if (absolute !== null) store.setStats({ unread: absolute }, { source: "stream" });
    // Which box it left (and whether it had files) the event does not say: ask.
    counts.refresh();
    if (wasOpen) {
      announce(t("messageGone"));
      if (hadFocus) root.querySelector("[data-message-list]").focus();
    }
  });

  stream.on("message:update", ({ messageId, payload = {} }) => {
    if (!store.has(messageId)) return;
    const changes = {};
    for (const key of ["subject", "body", "bodyHtml", "editedAt", "updatedAt", "links"]) {
      if (key in payload) changes[key] = payload[key];
    }
    store.update(messageId, changes);
  });

  function onAttachments(added) {
    return ({ messageId, payload = {} }) => {
      if (!store.has(messageId)) return;
      const message = store.get(messageId);
      const changes = {};
      if (typeof payload.attachmentCount === "number") {
        changes.attachmentCount = payload.attachmentCount;
        changes.hasAttachments = payload.attachmentCount > 0;
      }
      if (Array.isArray(message.attachments)) {
        const others = message.attachments.filter(
          (a) => a.id !== (added ? payload.attachment?.id : (payload.id ?? payload.attachment?.id)),
        );
        changes.attachments = added && payload.attachment ? [...others, payload.attachment] : others;
      }
      store.update(messageId, changes);
      counts.refresh();
    };
  }
  stream.on("message:attachment:added", onAttachments(true));
  stream.on("message:attachment:removed", onAttachments(false));

  // -- catching up from the API ---------------------------------------------------------

  let syncing = null;
  function resync() {
    if (syncing) return syncing;
    syncing = Promise.all([
      messaging.list({
        tenantId: store.tenantId,
        box: store.box,
        q: store.q,
        limit: Number(root.dataset.pageSize) || 30,
      }),
      messaging.stats(store.tenantId),
    ])
      .then(([page, stats]) => {
        const newest = store.order[0] ?? 0;
        const inserted = store.reconcile(page.results || [], page.nextCursor);
        store.setStats(stats, { source: "api" });
        announceNew(inserted.filter((m) => m.id > newest && m.isRead === false));
      })
      .catch(() => {})
      .finally(() => {
        syncing = null;
      });
    return syncing;
  }

  stream.on("stream-reset", resync);
  stream.on("poll", resync);

  let settleTimer = null;
  stream.on("connected", ({ reconnected }) => {
    if (!reconnected) return;
    // The replay has brought what was missed; one fresh count settles what polling and
    // the replay may each have counted.
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => counts.refresh(), SETTLE_MS + Math.random() * SETTLE_MS);
  });

  return { resync };
}
