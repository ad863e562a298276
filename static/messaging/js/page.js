// The messaging page: reads its config from data-* attributes and wires the store to the
// list, reader, composer, the live updates from the event stream and the app bar badge.

import { messagingApi } from "./api.js";
import { followPage, onUnreadCount, setUnreadCount } from "./badge.js";
import { createReaderFiles } from "../../attachments/js/reader-files.js";
import { createComposer } from "./composer.js";
import { createList } from "./list.js";
import { connectLinkPreviews } from "../../linkpreview/js/reader-links.js";
import { connectLive } from "./live.js";
import { createReader } from "./reader.js";
import { createStatus } from "./status.js";
import { MessagingStore } from "./store.js";

function statsFromPage(root) {
  const stats = {};
  for (const dd of root.querySelectorAll("[data-stats] [data-stat]")) {
    stats[dd.dataset.stat] = Number.parseInt(dd.textContent, 10) || 0;
  }
  return stats;
}

function start(root) {
  const messaging = messagingApi(root.dataset.apiRoot);
  const loadMore = root.querySelector('[data-action="load-more"]');
  const store = new MessagingStore({
    tenantId: root.dataset.tenantId,
    tenantName: root.dataset.tenantName,
    userId: Number(root.dataset.userId),
    box: root.dataset.box,
    q: root.dataset.q,
    canMessageAll: root.dataset.canMessageAll === "true",
    stats: statsFromPage(root),
    nextCursor: loadMore?.dataset.nextCursor || null,
  });
  const announce = createStatus(root.querySelector("[data-status]"));

  // Local changes move the numbers at once; the server's answer then settles them.
  let statsRequest = null;
  const counts = {
    refresh() {
      if (statsRequest) return statsRequest;
      statsRequest = messaging
        .stats(store.tenantId)
        .then((stats) => store.setStats(stats, { source: "api" }))
        .catch(() => {})
        .finally(() => {
          statsRequest = null;
        });
      return statsRequest;
    },
  };

  const unreadTab = root.querySelector('[data-stat="unread-tab"]');
  // The page's counts are the badge's from now on: one reckoning, never two.
  followPage();
  store.on("stats", ({ stats, source }) => {
    for (const dd of root.querySelectorAll("[data-stats] [data-stat]")) {
      dd.textContent = String(stats[dd.dataset.stat] ?? 0);
    }
    if (unreadTab) {
      unreadTab.hidden = stats.unread <= 0;
      const number = [...unreadTab.childNodes].find((node) => node.nodeType === Node.TEXT_NODE);
      if (number) number.textContent = String(stats.unread);
    }
    setUnreadCount(stats.unread, { source: source === "page" ? "page" : "stream" });
  });

  // The badge's polling, or another tab, may learn of a change first; the stats follow.
  onUnreadCount((count, source) => {
    if ((source === "poll" || source === "tab") && count !== store.stats.unread) counts.refresh();
  });

  const list = createList({ root, store, messaging, announce });
  const composer = createComposer({ root, store, messaging, announce, counts });
  createReader({
    root,
    store,
    messaging,
    announce,
    counts,
    onReply: (message) => composer.reply(message),
    onClose: (id) => {
      if (id === null || !list.focusRow(id)) root.querySelector("[data-message-list]").focus();
    },
  });

  // Keep ?message=<id> in the address so a reload or a shared link reopens it.
  store.on("reader:open", ({ id }) => {
    const url = new URL(window.location.href);
    if (id === null) url.searchParams.delete("message");
    else url.searchParams.set("message", String(id));
    window.history.replaceState(window.history.state, "", url);
  });

  connectLive({ root, store, messaging, announce, counts });
  // The open message's attachments: previews, downloads, and the sender's add and remove.
  createReaderFiles({ root, store, tenantId: store.tenantId });
  // Preview cards under the open message, and the domain and warnings beside every link.
  connectLinkPreviews({ root, store, announce });

  const wanted = Number(new URL(window.location.href).searchParams.get("message"));
  if (Number.isInteger(wanted) && wanted > 0) store.open(wanted);

  return { store, list, composer };
}

const root = document.querySelector("[data-messaging]");
if (root) start(root);
