// The message list: rows cloned from the page's <template>, paging by the API's cursor,
// keyboard movement between rows, and "mark all read".

import { recipientsText, setTime, snippet, subjectText } from "./format.js";
import { t } from "./strings.js";

const FLASH_MS = 4000;

/** Fill one row element from a message object; used for new rows and for updates. */
export function fillRow(row, message, { box, tenantName }) {
  row.dataset.messageId = String(message.id);
  row.dataset.threadId = String(message.threadId ?? message.id);
  const unread = message.isRead === false;
  row.dataset.read = unread ? "false" : "true";
  row.classList.toggle("is-unread", unread);
  const field = (name) => row.querySelector(`[data-field="${name}"]`);
  field("unread-label").hidden = !unread;
  if (box === "sent") {
    field("who-prefix").textContent = `${t("to")} `;
    field("who").textContent = recipientsText(message, tenantName);
  } else {
    field("who-prefix").textContent = "";
    field("who").textContent = message.sender ? message.sender.name : "";
  }
  setTime(field("time"), message.createdAt);
  field("subject").textContent = subjectText(message.subject);
  field("snippet").textContent = snippet(message.body);
  field("attachments").hidden = !message.hasAttachments;
  field("attachment-count").textContent = String(message.attachmentCount || 0);
}

export function createList({ root, store, messaging, announce }) {
  const list = root.querySelector("[data-message-list]");
  const empty = root.querySelector("[data-list-empty]");
  const loadMore = root.querySelector('[data-action="load-more"]');
  const readAll = root.querySelector('[data-action="read-all"]');
  const template = document.getElementById("message-row-template");
  const options = { box: store.box, tenantName: store.tenantName };

  const rowFor = (id) => list.querySelector(`[data-message-row][data-message-id="${Number(id)}"]`);
  const buttons = () => [...list.querySelectorAll('[data-action="open-message"]')];

  // What the server rendered becomes the store's first page.
  store.seed(
    [...list.querySelectorAll("[data-message-row]")].map((row) => {
      const listedAt = row.querySelector("time").dateTime;
      setTime(row.querySelector('[data-field="time"]'), listedAt);
      return {
        id: Number(row.dataset.messageId),
        listedAt,
        threadId: Number(row.dataset.threadId),
        isRead: row.dataset.read !== "false",
        isSender: store.box === "sent",
      };
    }),
  );

  function makeRow(message) {
    const row = template.content.firstElementChild.cloneNode(true);
    fillRow(row, message, options);
    return row;
  }

  // Roving tabindex: one row is in the tab order, arrows move between them.
  function setRoving(target) {
    const all = buttons();
    const chosen = target || all.find((b) => b.tabIndex === 0) || all[0];
    for (const button of all) button.tabIndex = button === chosen ? 0 : -1;
  }

  function syncEmpty() {
    empty.hidden = store.order.length > 0;
  }

  function syncReadAll() {
    if (readAll) readAll.disabled = store.stats.unread <= 0;
  }

  function markOpen(id) {
    for (const row of list.querySelectorAll("[data-message-row]")) {
      const isOpen = id !== null && Number(row.dataset.messageId) === id;
      row.classList.toggle("is-open", isOpen);
      const button = row.querySelector('[data-action="open-message"]');
      if (isOpen) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest('[data-action="open-message"]');
    if (!button) return;
    setRoving(button);
    store.open(Number(button.closest("[data-message-row]").dataset.messageId));
  });

  list.addEventListener("keydown", (event) => {
    const button = event.target.closest('[data-action="open-message"]');
    if (!button) return;
    const all = buttons();
    const index = all.indexOf(button);
    let next = null;
    if (event.key === "ArrowDown") next = all[Math.min(index + 1, all.length - 1)];
    else if (event.key === "ArrowUp") next = all[Math.max(index - 1, 0)];
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all[all.length - 1];
    if (next) {
      event.preventDefault();
      setRoving(next);
      next.focus();
    }
  });

  loadMore?.addEventListener("click", async () => {
    if (!store.nextCursor) return;
    loadMore.disabled = true;
    loadMore.setAttribute("aria-busy", "true");
    try {
      const page = await messaging.list({
        tenantId: store.tenantId,
        box: store.box,
        q: store.q,
        cursor: store.nextCursor,
        limit: Number(root.dataset.pageSize) || 30,
      });
      const added = store.append(page.results, page.nextCursor);
      announce(t("loadedMore", { count: added.length }));
      if (!store.nextCursor && added.length) {
        // The button goes away: keep the keyboard where the new rows start.
        const first = rowFor(added[0].id)?.querySelector('[data-action="open-message"]');
        if (first) {
          setRoving(first);
          first.focus();
        }
      }
    } catch (error) {
      announce(t("loadFailed"), { tone: "error" });
    } finally {
      loadMore.disabled = false;
      loadMore.removeAttribute("aria-busy");
    }
  });

  readAll?.addEventListener("click", async () => {
    readAll.disabled = true;
    try {
      await messaging.markAllRead(store.tenantId);
      store.markAllRead();
      announce(t("allRead"));
    } catch (error) {
      announce(t("actionFailed", { message: error.message }), { tone: "error" });
    } finally {
      syncReadAll();
    }
  });

  store.on("list:append", ({ messages, nextCursor }) => {
    const fragment = document.createDocumentFragment();
    for (const message of messages) fragment.append(makeRow(message));
    list.append(fragment);
    loadMore.dataset.nextCursor = nextCursor || "";
    loadMore.hidden = !nextCursor;
    setRoving();
    syncEmpty();
  });

  // A message that arrived while the page was open: highlighted for a moment.
  function flash(row) {
    row.classList.add("is-new");
    setTimeout(() => row.classList.remove("is-new"), FLASH_MS);
  }

  store.on("list:prepend", ({ message, fresh }) => {
    const row = makeRow(message);
    list.prepend(row);
    if (fresh) flash(row);
    setRoving();
    syncEmpty();
  });

  store.on("list:insert", ({ message, beforeId, fresh }) => {
    const row = makeRow(message);
    const before = beforeId === null ? null : rowFor(beforeId);
    list.insertBefore(row, before);
    if (fresh) flash(row);
    setRoving();
    syncEmpty();
  });

  store.on("message:update", ({ message }) => {
    const row = rowFor(message.id);
    // Rows seeded from the page know only their read state until opened.
    if (!row) return;
    if (message.createdAt) fillRow(row, message, options);
    else {
      const unread = message.isRead === false;
      row.dataset.read = unread ? "false" : "true";
      row.classList.toggle("is-unread", unread);
      row.querySelector('[data-field="unread-label"]').hidden = !unread;
      // An edit or attachment event may name only what changed.
      const field = (name) => row.querySelector(`[data-field="${name}"]`);
      if ("subject" in message) field("subject").textContent = subjectText(message.subject);
      if ("body" in message) field("snippet").textContent = snippet(message.body);
      if ("attachmentCount" in message) {
        field("attachments").hidden = !message.attachmentCount;
        field("attachment-count").textContent = String(message.attachmentCount || 0);
      }
    }
  });

  store.on("list:remove", ({ id }) => {
    const row = rowFor(id);
    if (!row) return;
    const wasFocused = row.contains(document.activeElement);
    const neighbour = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    setRoving(neighbour?.querySelector('[data-action="open-message"]'));
    syncEmpty();
    if (wasFocused) neighbour?.querySelector('[data-action="open-message"]')?.focus();
  });

  store.on("reader:open", ({ id }) => markOpen(id));
  store.on("stats", syncReadAll);

  setRoving();
  syncEmpty();

  return {
    focusRow(id) {
      const button = rowFor(id)?.querySelector('[data-action="open-message"]');
      if (button) {
        setRoving(button);
        button.focus();
        return true;
      }
      return false;
    },
  };
}
