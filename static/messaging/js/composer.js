// The composer: recipients (picker.js), subject and body, send, replies, and the API's
// errors shown next to the field they name.

import { createComposerLinks } from "../../linkpreview/js/composer-links.js";
import { createComposerFiles } from "../../attachments/js/composer-files.js";
import { clearErrors, showError } from "./forms.js";
import { createPicker } from "./picker.js";
import { t } from "./strings.js";

export function createComposer({ root, store, messaging, announce, counts }) {
  const pane = root.querySelector("[data-composer]");
  const form = pane.querySelector("[data-composer-form]");
  const title = pane.querySelector('[data-field="composer-title"]');
  const replyNote = pane.querySelector("[data-reply-note]");
  const openButton = root.querySelector('[data-action="compose"]');
  const placeholder = root.querySelector("[data-reader-placeholder]");
  const picker = createPicker({ root: pane, store, messaging });
  const subject = form.elements.subject;
  const body = form.elements.body;
  const sendButton = form.querySelector('[data-action="send"]');
  // Attachments: the drop zone, the file picker and the media library (attachments/js).
  const files = createComposerFiles({ pane, tenantId: store.tenantId });
  const links = createComposerLinks({ body });
  let replyToId = null;

  function setReply(message) {
    replyToId = message ? message.id : null;
    replyNote.hidden = !message;
    replyNote.querySelector('[data-field="reply-subject"]').textContent = message
      ? message.subject || t("noSubject")
      : "";
    title.textContent = message ? t("reply") : t("newMessage");
  }

  function reset() {
    form.reset();
    picker.clear();
    files?.reset();
    links.reset();
    clearErrors(form);
    setReply(null);
  }

  function open({ focus = "recipients" } = {}) {
    pane.hidden = false;
    placeholder.hidden = true;
    openButton.setAttribute("aria-expanded", "true");
    root.querySelector("[data-layout]").classList.add("has-composer");
    pane.scrollIntoView({ block: "start", behavior: "smooth" });
    if (focus === "body") body.focus({ preventScroll: true });
    else picker.focus();
  }

  function close({ discard = false } = {}) {
    if (discard) reset();
    pane.hidden = true;
    openButton.setAttribute("aria-expanded", "false");
    root.querySelector("[data-layout]").classList.remove("has-composer");
    placeholder.hidden = !root.querySelector("[data-reader]").hidden;
    openButton.focus();
  }

  /** Start a reply: the sender and the other recipients, minus me; "Re: " once. */
  function reply(message) {
    reset();
    const me = store.userId;
    const people = new Map();
    if (message.sender && message.sender.id !== me) people.set(message.sender.id, message.sender);
    for (const recipient of message.recipients || []) {
      if (recipient.id !== me) people.set(recipient.id, recipient);
    }
    picker.set([...people.values()]);
    const original = (message.subject || "").trim();
    subject.value = /^re:/i.test(original) ? original : `Re: ${original}`.trim();
    setReply(message);
    open({ focus: people.size ? "body" : "recipients" });
  }

  openButton.addEventListener("click", () => {
    if (pane.hidden) open();
    else picker.focus();
  });

  pane.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    if (target.dataset.action === "close-composer") close();
    else if (target.dataset.action === "discard-composer") close({ discard: true });
    else if (target.dataset.action === "cancel-reply") {
      setReply(null);
      subject.focus();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const inputs = { recipientIds: picker.input, subject, body };
    const recipientIds = picker.value();
    if (recipientIds !== "all" && recipientIds.length === 0) {
      showError(form, "recipientIds", t("needRecipient"), inputs);
      return;
    }
    if (files?.busy()) {
      showError(form, "files", files.busyText(), inputs);
      return;
    }
    if (!subject.value.trim() && !body.value.trim() && !files?.hasFiles()) {
      showError(form, "body", t("needContent"), inputs);
      return;
    }
    const payload = {
      tenantId: store.tenantId,
      recipientIds,
      subject: subject.value,
      body: body.value,
    };
    if (replyToId) payload.replyToId = replyToId;
    if (files) Object.assign(payload, files.payload());
    const omitted = links.omitted();
    if (omitted.length) payload.omitLinkPreviews = omitted;
    sendButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const message = await messaging.send(payload);
      const names = picker.names();
      // The stream may have brought this message already; count it once.
      const counted = store.hasSeen(message.id);
      if (store.box === "sent" && !store.q) store.prepend(message);
      else store.remember(message.id);
      if (!counted) store.adjustStats({ sent: +1 });
      counts.refresh();
      reset();
      close();
      announce(names ? t("sentTo", { names }) : t("sent"));
    } catch (error) {
      const field = error.field === "replyToId" || error.field === "tenantId" ? null : error.field;
      showError(form, field, error.message, inputs);
    } finally {
      sendButton.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  return { open, close, reply };
}
