// The messaging page's state, apart from the DOM: the listed messages, the open one, the
// counts. Modules change it through its methods and redraw on its events, so a stream
// module can later feed server events into the same methods.

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

  /** Messages the server rendered into the page; no events, the DOM already shows them. */
  seed(partials) {
    for (const partial of partials) {
      this.messages.set(partial.id, partial);
      this.order.push(partial.id);
    }
  }

  /** A further page from the list API, in order, after the ones already listed. */
  append(messages, nextCursor) {
    const added = [];
    for (const message of messages) {
      if (this.messages.has(message.id) && this.order.includes(message.id)) continue;
      this.messages.set(message.id, message);
      this.order.push(message.id);
      added.push(message);
    }
    this.nextCursor = nextCursor || null;
    this.emit("list:append", { messages: added, nextCursor: this.nextCursor });
    return added;
  }

  /** A message that belongs at the top of the current list (one just sent, or new). */
  prepend(message) {
    if (this.order.includes(message.id)) return this.update(message.id, message);
    this.messages.set(message.id, message);
    this.order.unshift(message.id);
    this.emit("list:prepend", { message });
    return message;
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
    const before = this.get(id);
    const wasUnread = before && before.isRead === false;
    const message = this.update(id, { isRead, readAt });
    if (wasUnread && isRead) this.adjustStats({ unread: -1 });
    if (before && before.isRead === true && !isRead && !message.isSender) {
      this.adjustStats({ unread: +1 });
    }
    return message;
  }

  markAllRead() {
    for (const id of this.order) {
      const message = this.messages.get(id);
      if (message && message.isRead === false) this.update(id, { isRead: true });
    }
    this.setStats({ ...this.stats, unread: 0 });
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

  adjustStats(delta) {
    const next = { ...this.stats };
    for (const [key, value] of Object.entries(delta)) next[key] = Math.max(0, (next[key] || 0) + value);
    this.setStats(next);
  }

  setStats(stats) {
    this.stats = { ...this.stats, ...stats };
    this.emit("stats", { stats: this.stats });
  }
}
