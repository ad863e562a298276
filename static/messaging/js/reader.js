// The reader pane: loads the open message and its thread, marks it read, and offers
// reply, mark unread, edit (sender) and delete (for everyone, or from one's own inbox).

import { clearErrors, showError } from "./forms.js";
import { longTime, recipientsText, setTime, subjectText } from "./format.js";
import { t } from "./strings.js";

export function createReader({ root, store, messaging, announce, counts, onReply, onClose }) {
  const pane = root.querySelector("[data-reader]");
  const placeholder = root.querySelector("[data-reader-placeholder]");
  const field = (name) => pane.querySelector(`.reader__header [data-field="${name}"]`);
  const heading = pane.querySelector('[data-field="subject"]');
  const body = pane.querySelector('.reader__body[data-field="body"]');
  const thread = pane.querySelector("[data-thread]");
  const threadList = pane.querySelector("[data-thread-list]");
  const threadTemplate = document.getElementById("thread-item-template");
  const confirm = pane.querySelector("[data-delete-confirm]");
  const editForm = pane.querySelector("[data-edit-form]");
  const button = (action) => pane.querySelector(`[data-reader-actions] [data-action="${action}"]`);
  let current = null;
  let loadToken = 0;

  function setRole(isSender) {
    for (const el of pane.querySelectorAll("[data-when]")) {
      el.hidden = el.dataset.when !== (isSender ? "sender" : "recipient");
    }
    button("edit").hidden = !isSender;
    button("mark-unread").hidden = isSender;
  }

  function render(message) {
    current = message;
    heading.textContent = subjectText(message.subject);
    field("sender").textContent = message.sender ? message.sender.name : "";
    field("recipients").textContent = recipientsText(message, store.tenantName);
    setTime(field("time"), message.createdAt, longTime);
    field("edited").hidden = !message.editedAt;
    if (message.editedAt) field("edited").title = longTime(message.editedAt);
    // bodyHtml is escaped and linkified by the server; nothing else is inserted as HTML.
    body.innerHTML = message.bodyHtml || "";
    setRole(Boolean(message.isSender));
    pane.removeAttribute("aria-busy");
  }

  function renderThread(messages) {
    const others = messages.filter((m) => m.id !== current?.id);
    threadList.replaceChildren(
      ...others.map((m) => {
        const item = threadTemplate.content.firstElementChild.cloneNode(true);
        item.querySelector('[data-field="sender"]').textContent = m.sender ? m.sender.name : "";
        setTime(item.querySelector('[data-field="time"]'), m.createdAt);
        item.querySelector('[data-field="subject"]').textContent = subjectText(m.subject);
        item.querySelector('[data-field="body"]').innerHTML = m.bodyHtml || "";
        return item;
      }),
    );
    thread.hidden = others.length === 0;
  }

  function resetPanels() {
    confirm.hidden = true;
    editForm.hidden = true;
    clearErrors(editForm);
  }

  function show() {
    pane.hidden = false;
    placeholder.hidden = true;
    root.querySelector("[data-layout]").classList.add("has-reader");
  }

  function hide() {
    current = null;
    pane.hidden = true;
    placeholder.hidden = !root.querySelector("[data-composer]").hidden;
    root.querySelector("[data-layout]").classList.remove("has-reader");
  }

  async function open(id, { focus = true } = {}) {
    const token = ++loadToken;
    resetPanels();
    show();
    pane.setAttribute("aria-busy", "true");
    const known = store.get(id);
    const threadRequest = known?.threadId ? messaging.thread(known.threadId).catch(() => null) : null;
    let message;
    try {
      message = await messaging.message(id);
    } catch (error) {
      if (token !== loadToken) return;
      pane.removeAttribute("aria-busy");
      if (error.status === 404) store.remove(id);
      hide();
      announce(t("openFailed"), { tone: "error" });
      return;
    }
    if (token !== loadToken) return;
    store.update(id, message);
    render(message);
    if (focus) {
      heading.focus({ preventScroll: true });
      pane.scrollIntoView({ block: "start", behavior: "smooth" });
    }
    const threadPromise = threadRequest || messaging.thread(message.threadId).catch(() => null);
    if (!message.isSender && !message.isRead) {
      try {
        const updated = await messaging.markRead(id, true);
        store.setRead(id, true, updated.readAt);
        counts.refresh();
      } catch (error) {
        announce(t("actionFailed", { message: error.message }), { tone: "error" });
      }
    }
    const threadData = await threadPromise;
    if (token === loadToken && threadData) renderThread(threadData.results || []);
    else if (token === loadToken) thread.hidden = true;
  }

  store.on("reader:open", ({ id }) => {
    if (id === null) {
      loadToken++;
      hide();
    } else open(id);
  });

  store.on("message:update", ({ message }) => {
    // A change from elsewhere (an edit here, later the stream) redraws the open message.
    if (current && message.id === current.id && message.createdAt) render(message);
  });

  store.on("list:remove", ({ id }) => {
    if (current && current.id === id) hide();
  });

  pane.addEventListener("click", async (event) => {
    const target = event.target.closest("[data-action]");
    if (!target || !current) return;
    const message = current;
    switch (target.dataset.action) {
      case "close-reader":
        store.open(null);
        onClose(message.id);
        break;
      case "reply":
        onReply(message);
        break;
      case "mark-unread":
        try {
          await messaging.markRead(message.id, false);
          store.setRead(message.id, false, null);
          counts.refresh();
          announce(t("markedUnread"));
          store.open(null);
          onClose(message.id);
        } catch (error) {
          announce(t("actionFailed", { message: error.message }), { tone: "error" });
        }
        break;
      case "delete":
        editForm.hidden = true;
        confirm.hidden = false;
        confirm.querySelector('[data-action="cancel-delete"]').focus();
        break;
      case "cancel-delete":
        confirm.hidden = true;
        button("delete").focus();
        break;
      case "confirm-delete":
        target.disabled = true;
        try {
          await messaging.remove(message.id);
          store.remove(message.id);
          counts.refresh();
          announce(message.isSender ? t("deletedEveryone") : t("deletedMe"));
          onClose(null);
        } catch (error) {
          announce(t("actionFailed", { message: error.message }), { tone: "error" });
        } finally {
          target.disabled = false;
        }
        break;
      case "edit":
        confirm.hidden = true;
        editForm.elements.subject.value = message.subject || "";
        editForm.elements.body.value = message.body || "";
        clearErrors(editForm);
        editForm.hidden = false;
        editForm.elements.subject.focus();
        break;
      case "cancel-edit":
        editForm.hidden = true;
        button("edit").focus();
        break;
      default:
        break;
    }
  });

  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    clearErrors(editForm);
    const submit = editForm.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      const updated = await messaging.edit(current.id, {
        subject: editForm.elements.subject.value,
        body: editForm.elements.body.value,
      });
      store.update(updated.id, updated);
      editForm.hidden = true;
      announce(t("saved"));
      heading.focus();
    } catch (error) {
      showError(editForm, error.field, error.message, {
        subject: editForm.elements.subject,
        body: editForm.elements.body,
      });
    } finally {
      submit.disabled = false;
    }
  });

  return {
    open,
    get current() {
      return current;
    },
  };
}
