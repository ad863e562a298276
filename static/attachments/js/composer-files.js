// The composer's attachments: a drop zone and a file picker (several files, by keyboard
// too), each desktop file uploaded at once with its own progress bar and cancel, files
// picked from the media library, thumbnails or type icons, and removal before sending.
// composer.js asks payload() for the ids to send and busy() whether to wait.

import { createLibraryPicker } from "./library.js";
import { formatSize, previewElement, uploadFiles } from "./files.js";
import { t } from "./strings.js";

let nextKey = 1;

export function createComposerFiles({ pane, tenantId }) {
  const root = pane.querySelector("[data-composer-files]");
  if (!root) return null;
  const input = root.querySelector("[data-file-input]");
  const list = root.querySelector("[data-file-list]");
  const zone = root.querySelector("[data-dropzone]");
  const live = root.querySelector("[data-files-status]");
  const template = document.getElementById("composer-file-template");
  const picker = createLibraryPicker({
    dialog: document.querySelector("[data-library-picker]"),
    tenantId,
    url: root.dataset.libraryUrl,
  });
  const items = new Map(); // key -> item

  function say(text) {
    live.textContent = text;
  }

  function render(item) {
    const el = item.el;
    el.dataset.state = item.state;
    el.querySelector('[data-field="name"]').textContent = item.name;
    el.querySelector('[data-field="meta"]').textContent = formatSize(item.size);
    const thumb = el.querySelector('[data-field="thumb"]');
    thumb.replaceChildren(
      previewElement({
        thumbnailUrl: item.thumbnailUrl,
        contentType: item.contentType,
        localUrl: item.localUrl,
      }),
    );
    const progress = el.querySelector('[data-field="progress"]');
    progress.hidden = item.state !== "uploading";
    progress.value = item.percent || 0;
    progress.setAttribute("aria-label", t("uploadingName", { name: item.name }));
    const status = el.querySelector('[data-field="status"]');
    status.textContent =
      item.state === "uploading"
        ? t("uploadingPercent", { percent: Math.round(item.percent || 0) })
        : item.state === "error"
          ? item.error
          : item.kind === "library"
            ? t("fromLibrary")
            : t("uploaded");
    status.setAttribute("role", item.state === "error" ? "alert" : "status");
    const button = el.querySelector('[data-action="remove-file"]');
    button.querySelector('[data-field="remove-label"]').textContent =
      item.state === "uploading" ? t("cancelName", { name: item.name }) : t("removeName", { name: item.name });
    button.dataset.key = String(item.key);
  }

  function add(item) {
    item.key = nextKey++;
    item.el = template.content.firstElementChild.cloneNode(true);
    item.el.dataset.key = String(item.key);
    items.set(item.key, item);
    list.append(item.el);
    render(item);
    return item;
  }

  function upload(file) {
    const isImage = /^image\/(png|jpeg|gif|webp)$/.test(file.type);
    const item = add({
      kind: "upload",
      state: "uploading",
      name: file.name,
      size: file.size,
      contentType: file.type,
      localUrl: isImage ? URL.createObjectURL(file) : null,
      percent: 0,
    });
    const request = uploadFiles(root.dataset.uploadUrl, {
      files: [file],
      fields: { tenantId },
      onProgress: (loaded, total) => {
        item.percent = total ? (loaded / total) * 100 : 0;
        render(item);
      },
    });
    item.abort = request.abort;
    request.promise
      .then((data) => {
        const [done] = data.uploads || [];
        if (!items.has(item.key)) return;
        Object.assign(item, {
          state: "done",
          uploadId: done.uploadId,
          name: done.fileName,
          size: done.fileSize,
          contentType: done.contentType,
          thumbnailUrl: done.thumbnailUrl,
          percent: 100,
        });
        render(item);
        say(t("uploadedName", { name: item.name }));
      })
      .catch((error) => {
        if (error.code === "aborted" || !items.has(item.key)) return;
        item.state = "error";
        item.error = error.message || t("uploadFailed");
        render(item);
      })
      .finally(() => {
        item.abort = null;
        updateBusy();
      });
    updateBusy();
  }

  function addFiles(fileList) {
    for (const file of fileList) upload(file);
  }

  function remove(key) {
    const item = items.get(key);
    if (!item) return;
    if (item.abort) item.abort();
    if (item.localUrl) URL.revokeObjectURL(item.localUrl);
    items.delete(key);
    item.el.remove();
    say(item.state === "uploading" ? t("cancelledName", { name: item.name }) : t("removedName", { name: item.name }));
    updateBusy();
  }

  function updateBusy() {
    const waiting = busy();
    root.dataset.busy = waiting ? "true" : "false";
    if (!waiting) {
      // "Wait for the uploads" no longer applies once none is running.
      const error = root.querySelector('[data-error-for="files"]');
      error.hidden = true;
      error.textContent = "";
    }
  }

  function busy() {
    return [...items.values()].some((item) => item.state === "uploading");
  }

  root.addEventListener("click", async (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    if (target.dataset.action === "pick-files") input.click();
    else if (target.dataset.action === "remove-file") remove(Number(target.dataset.key));
    else if (target.dataset.action === "open-library") {
      const have = new Set([...items.values()].map((i) => i.mediaFileId ?? i.uploadId));
      const files = await picker.pick({ exclude: have });
      for (const file of files) {
        add({
          kind: "library",
          state: "done",
          mediaFileId: file.id,
          name: file.fileName,
          size: file.fileSize,
          contentType: file.contentType,
          thumbnailUrl: file.thumbnailUrl,
        });
      }
      if (files.length) say(t("pickedCount", { count: files.length }));
      target.focus();
    }
  });

  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });

  // The whole composer takes a drop; the zone lights up while files are over it.
  let depth = 0;
  const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  pane.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-over");
  });
  pane.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  pane.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("is-over");
  });
  pane.addEventListener("drop", (event) => {
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    addFiles(event.dataTransfer.files);
  });

  return {
    busy,
    busyText: () => t("waitForUploads"),
    hasFiles: () => [...items.values()].some((item) => item.state === "done"),
    /** The ids for POST /api/messaging/send. */
    payload() {
      const done = [...items.values()].filter((item) => item.state === "done");
      return {
        attachmentUploadIds: done.filter((i) => i.kind === "upload").map((i) => i.uploadId),
        mediaFileIds: done.filter((i) => i.kind === "library").map((i) => i.mediaFileId),
      };
    },
    reset() {
      for (const key of [...items.keys()]) {
        const item = items.get(key);
        if (item.abort) item.abort();
        if (item.localUrl) URL.revokeObjectURL(item.localUrl);
        item.el.remove();
        items.delete(key);
      }
      say("");
      updateBusy();
    },
  };
}
