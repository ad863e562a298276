// The reader's attachments: the list with previews and downloads and, for the sender,
// adding files (from the desktop or the media library) and removing them. It follows the
// store, so the stream's attachment events (live.js) redraw it as they come.

import { api } from "../../messaging/js/api.js";
import { createLibraryPicker } from "./library.js";
import { formatSize, previewElement, uploadFiles } from "./files.js";
import { t } from "./strings.js";

export function createReaderFiles({ root, store, tenantId }) {
  const section = root.querySelector("[data-reader-files]");
  if (!section) return null;
  const list = section.querySelector("[data-attachment-list]");
  const count = section.querySelector('[data-field="attachment-total"]');
  const heading = section.querySelector(".reader-files__heading");
  const senderTools = section.querySelector("[data-sender-tools]");
  const input = section.querySelector("[data-add-input]");
  const status = section.querySelector("[data-add-status]");
  const progress = section.querySelector("[data-add-progress]");
  const template = document.getElementById("attachment-item-template");
  const picker = createLibraryPicker({
    dialog: document.querySelector("[data-library-picker]"),
    tenantId,
    url: section.dataset.libraryUrl,
  });
  let current = null;

  function render(message) {
    current = message;
    const attachments = message.attachments || [];
    const isSender = Boolean(message.isSender);
    section.hidden = attachments.length === 0 && !isSender;
    senderTools.hidden = !isSender;
    // No heading over an empty list: the sender sees only the buttons to add files.
    heading.hidden = attachments.length === 0;
    count.textContent = attachments.length ? `(${attachments.length})` : "";
    list.replaceChildren(
      ...attachments.map((attachment) => {
        const item = template.content.firstElementChild.cloneNode(true);
        item.dataset.attachmentId = String(attachment.id);
        const preview = item.querySelector('[data-field="preview"]');
        preview.href = attachment.url;
        preview.replaceChildren(previewElement(attachment));
        const name = item.querySelector('[data-field="name"]');
        name.href = attachment.url;
        name.textContent = attachment.fileName;
        name.setAttribute("download", attachment.fileName);
        item.querySelector('[data-field="meta"]').textContent = formatSize(attachment.fileSize);
        const remove = item.querySelector('[data-action="remove-attachment"]');
        remove.hidden = !isSender;
        remove.dataset.id = String(attachment.id);
        remove.querySelector('[data-field="remove-name"]').textContent = attachment.fileName;
        return item;
      }),
    );
  }

  function merge(messageId, attachments, { removeId = null } = {}) {
    const message = store.get(messageId);
    if (!message) return;
    const kept = (message.attachments || []).filter(
      (a) => a.id !== removeId && !attachments.some((b) => b.id === a.id),
    );
    const next = [...kept, ...attachments];
    store.update(messageId, {
      attachments: next,
      attachmentCount: next.length,
      hasAttachments: next.length > 0,
    });
  }

  store.on("reader:open", ({ id }) => {
    if (id === null) current = null;
    section.hidden = true;
    list.replaceChildren();
    status.textContent = "";
  });

  store.on("message:update", ({ message }) => {
    // Only a full message (the reader loaded it) carries its attachments.
    if (message.id === store.openId && message.createdAt && Array.isArray(message.attachments)) {
      render(message);
    }
  });

  async function send(files) {
    const message = current;
    if (!message || !files.length) return;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = t("uploadingPercent", { percent: 0 });
    const request = uploadFiles(section.dataset.uploadUrl, {
      files,
      fields: { tenantId, messageId: message.id },
      onProgress: (loaded, total) => {
        const percent = total ? Math.round((loaded / total) * 100) : 0;
        progress.value = percent;
        status.textContent = t("uploadingPercent", { percent });
      },
    });
    try {
      const data = await request.promise;
      merge(message.id, data.attachments || []);
      status.textContent = t("addedCount", { count: (data.attachments || []).length });
    } catch (error) {
      status.textContent = error.message || t("uploadFailed");
    } finally {
      progress.hidden = true;
    }
  }

  section.addEventListener("click", async (event) => {
    const target = event.target.closest("[data-action]");
    if (!target || !current) return;
    const message = current;
    switch (target.dataset.action) {
      case "add-files":
        input.click();
        break;
      case "add-from-library": {
        const have = new Set((message.attachments || []).map((a) => a.mediaFileId));
        const files = await picker.pick({ exclude: have });
        if (files.length) {
          try {
            const data = await api.post(section.dataset.attachUrl, {
              messageId: message.id,
              mediaFileIds: files.map((f) => f.id),
            });
            merge(message.id, data.attachments || []);
            status.textContent = t("addedCount", { count: files.length });
          } catch (error) {
            status.textContent = error.message;
          }
        }
        target.focus();
        break;
      }
      case "remove-attachment": {
        const id = Number(target.dataset.id);
        const name = target.querySelector('[data-field="remove-name"]').textContent;
        target.disabled = true;
        try {
          await api.delete(`${section.dataset.attachmentsUrl}${id}`);
          merge(message.id, [], { removeId: id });
          status.textContent = t("removedName", { name });
          section.querySelector('[data-action="add-files"]')?.focus();
        } catch (error) {
          target.disabled = false;
          status.textContent = error.message;
        }
        break;
      }
      default:
        break;
    }
  });

  input.addEventListener("change", () => {
    send([...input.files]);
    input.value = "";
  });

  return { render };
}
