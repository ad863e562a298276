// The media library picker: a dialog listing the user's files, several can be chosen.

import { api } from "../../messaging/js/api.js";
import { formatSize, previewElement } from "./files.js";
import { t } from "./strings.js";

export function createLibraryPicker({ dialog, tenantId, url }) {
  const list = dialog.querySelector("[data-library-list]");
  const status = dialog.querySelector("[data-library-status]");
  const confirm = dialog.querySelector('[data-action="attach-picked"]');
  let resolve = null;
  let byId = new Map();

  function chosen() {
    return [...list.querySelectorAll("input:checked")].map((box) => byId.get(Number(box.value)));
  }

  function finish(files) {
    if (dialog.open) dialog.close();
    const done = resolve;
    resolve = null;
    if (done) done(files);
  }

  async function load(exclude) {
    list.replaceChildren();
    status.textContent = t("libraryLoading");
    try {
      const data = await api.get(url, { tenantId });
      const files = (data.results || []).filter((f) => !exclude.has(f.id));
      byId = new Map(files.map((f) => [f.id, f]));
      list.replaceChildren(
        ...files.map((file) => {
          const item = document.createElement("li");
          item.className = "library-item";
          const label = document.createElement("label");
          label.className = "library-item__label";
          const box = document.createElement("input");
          box.type = "checkbox";
          box.value = String(file.id);
          const name = document.createElement("span");
          name.className = "library-item__name";
          name.textContent = file.fileName;
          const meta = document.createElement("span");
          meta.className = "library-item__meta";
          meta.textContent = formatSize(file.fileSize);
          label.append(box, previewElement(file), name, meta);
          item.append(label);
          return item;
        }),
      );
      status.textContent = files.length ? t("libraryCount", { count: files.length }) : t("libraryEmpty");
      list.querySelector("input")?.focus();
    } catch (error) {
      status.textContent = t("libraryFailed", { message: error.message });
    }
  }

  dialog.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "attach-picked") finish(chosen());
    else if (action === "close-library") finish([]);
  });
  dialog.addEventListener("cancel", () => finish([]));
  list.addEventListener("change", () => {
    confirm.disabled = chosen().length === 0;
  });

  /** Open the dialog; resolves with the chosen files ([] when cancelled). */
  function pick({ exclude = new Set() } = {}) {
    if (resolve) return Promise.resolve([]);
    confirm.disabled = true;
    dialog.showModal();
    load(exclude);
    return new Promise((done) => {
      resolve = done;
    });
  }

  return { pick };
}
