// The messaging page's state, apart from the DOM: the listed messages, the open one, the
// counts. Modules change it through its methods and redraw on its events; live.js feeds
// the event stream into the same methods. ``seen`` remembers every message id the page
// has shown (or sent), so an event replayed after a reconnect is not applied twice.

/** Newest first: by creation time (rows the server rendered carry it as listedAt), then id. */
function isNewer(a, b) {
  const time = (m) => Date.parse(m?.createdAt || m?.listedAt || "") || 0;
  return time(a) !== time(b) ? time(a) > time(b) : (a?.id || 0) > (b?.id || 0);
}

export class MessagingStore extends EventTarget {
  constructor({ tenantId, tenantName, userId, box, q, canMessageAll, stats, nextCursor }) {
    super();
    this.tenantId = tenantId;
    this.tenantName = tenantName;
    this.userId = userId;
    this.box = box;
    this.q = q;
    this.canMessageAll = canMessageAll;
    this.stats = { total: 0, unread: 0, sent: 0, withAttachments: 0, ...stats };
    this.nextCursor = nextCursor || null;
    this.messages = new Map(); // id -> message object (partial until opened)
    this.order = []; // ids as listed, newest first
    this.openId = null;
    this.seen = new Set();
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, listener) {
    const handler = (event) => listener(event.detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  get(id) {
    return this.messages.get(Number(id)) || null;
  }

  has(id) {
    return this.messages.has(Number(id));
  }

  /** Whether the page has ever listed or sent this message (even if since removed). */
  hasSeen(id) {
    return this.seen.has(Number(id));
  }

  remember(id) {
    this.seen.add(Number(id));
  }

  /** Messages the server rendered into the page; no events, the DOM already shows them. */
  seed(partials) {
    for (const partial of partials) {
      this.messages.set(partial.id, partial);
      this.order.push(partial.id);
      this.seen.add(partial.id);
    }
  }

  /** A further page from the list API, in order, after the ones already listed. */
  append(messages, nextCursor) {
    const added = [];
    for (const message of messages) {
      if (this.messages.has(message.id) && this.order.includes(message.id)) continue;
      this.messages.set(message.id, message);
      this.order.push(message.id);
      this.seen.add(message.id);
      added.push(message);
    }
    this.nextCursor = nextCursor || null;
    this.emit("list:append", { messages: added, nextCursor: this.nextCursor });
    return added;
  }

  /**
   * A new message (one just sent, or one the stream brought), placed newest first. Events
   * replayed after a reconnect come channel by channel, not strictly in time, so it goes
   * where its time says rather than always at the top.
   */
  prepend(message, { fresh = false } = {}) {
    this.seen.add(message.id);
    if (this.order.includes(message.id)) return this.update(message.id, message);
    const at = this.order.findIndex((id) => isNewer(message, this.messages.get(id)));
    const beforeId = at === -1 ? null : this.order[at];
    this.messages.set(message.id, message);
    if (at === -1) this.order.push(message.id);
    else this.order.splice(at, 0, message.id);
    if (at === 0) this.emit("list:prepend", { message, fresh });
    else this.emit("list:insert", { message, beforeId, fresh });
    return message;
  }

  /**
   * Bring the top of the list in line with a first page fresh from the API (after a
   * stream-reset, or while polling): rows it lacks are gone, rows it has are updated,
   * new ones are inserted where it lists them. Older rows loaded beyond it are kept.
   * Returns the messages inserted.
   */
  reconcile(results, nextCursor) {
    const fetched = new Map(results.map((message) => [message.id, message]));
    const complete = !nextCursor;
    const floor = results.length ? Math.min(...fetched.keys()) : Number.POSITIVE_INFINITY;
    for (const id of [...this.order]) {
      if (!fetched.has(id) && (complete || id > floor)) this.remove(id);
    }
    const inserted = [];
    // Bottom up, so each new row goes in before one that is already placed.
    for (let index = results.length - 1; index >= 0; index--) {
      const message = results[index];
      this.seen.add(message.id);
      if (this.order.includes(message.id)) {
        this.update(message.id, message);
        continue;
      }
      const later = results.slice(index + 1).find((other) => this.order.includes(other.id));
      const beforeId = later ? later.id : (this.order.find((id) => !fetched.has(id)) ?? null);
      const at = beforeId === null ? this.order.length : this.order.indexOf(beforeId);
      this.messages.set(message.id, message);
      this.order.splice(at, 0, message.id);
      this.emit("list:insert", { message, beforeId, fresh: message.isRead === false });
      inserted.push(message);
    }
    if (!this.order.some((id) => !fetched.has(id))) {
      // Nothing older is loaded: the fresh page's cursor is where "Load more" goes on.
      this.nextCursor = nextCursor || null;
      this.emit("list:append", { messages: [], nextCursor: this.nextCursor });
    }
    return inserted.reverse();
  }

  /** Merge fields into a known message; listeners redraw the row and the reader. */
  update(id, fields) {
    const key = Number(id);
    const before = this.messages.get(key) || { id: key };
    const message = { ...before, ...fields };
    this.messages.set(key, message);
    this.emit("message:update", { message, before });
    return message;
  }

  /** Record the viewer's read state and keep the unread count in step. */
  setRead(id, isRead, readAt = null) {
    if (!this.messages.has(Number(id))) return null;
    const before = this.get(id);
    const wasUnread = before && before.isRead === false;
    const message = this.update(id, { isRead, readAt });
    if (wasUnread && isRead) this.adjustStats({ unread: -1 });
    if (before && before.isRead === true && !isRead && !message.isSender) {
      this.adjustStats({ unread: +1 });
    }
    return message;
  }

  markAllRead({ readAt = null, unread = 0, source = "page" } = {}) {
    for (const id of this.order) {
      const message = this.messages.get(id);
      if (message && message.isRead === false) this.update(id, { isRead: true, readAt });
    }
    this.setStats({ ...this.stats, unread }, { source });
  }

  remove(id) {
    const key = Number(id);
    const message = this.messages.get(key);
    this.messages.delete(key);
    this.order = this.order.filter((other) => other !== key);
    this.emit("list:remove", { id: key, message });
    if (this.openId === key) this.open(null);
  }

  open(id) {
    this.openId = id === null ? null : Number(id);
    this.emit("reader:open", { id: this.openId });
  }

  /** ``source``: "page" for this tab's own actions, "stream", or "api" (fresh counts). */
  adjustStats(delta, { source = "page" } = {}) {
    const next = { ...this.stats };
    for (const [key, value] of Object.entries(delta)) next[key] = Math.max(0, (next[key] || 0) + value);
    this.setStats(next, { source });
  }

  setStats(stats, { source = "page" } = {}) {
    this.stats = { ...this.stats, ...stats };
    this.emit("stats", { stats: this.stats, source });
  }
}
