// Files as the attachment UI shows them: sizes, type labels, and uploads with progress.

import { csrfToken } from "../../messaging/js/api.js";

const lang = document.documentElement.lang || undefined;
const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

export function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${number.format(bytes / 1024)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${number.format(bytes / (1024 * 1024))} MB`;
  return `${number.format(bytes / (1024 * 1024 * 1024))} GB`;
}

const LABELS = [
  [/^image\//, "IMG", "image"],
  [/pdf$/, "PDF", "pdf"],
  [/(word|opendocument\.text)/, "DOC", "doc"],
  [/(excel|spreadsheet|csv)/, "XLS", "sheet"],
  [/(powerpoint|presentation)/, "PPT", "slides"],
  [/zip/, "ZIP", "archive"],
  [/^audio\//, "AUD", "audio"],
  [/^video\//, "VID", "video"],
  [/json/, "JSON", "text"],
  [/^text\//, "TXT", "text"],
];

/** A short label and a kind (for the icon's colour) for a content type. */
export function typeLabel(contentType) {
  const type = (contentType || "").toLowerCase();
  for (const [pattern, label, kind] of LABELS) if (pattern.test(type)) return { label, kind };
  return { label: "FILE", kind: "other" };
}

/** An element showing a file: its thumbnail when it has one, else its type icon. */
export function previewElement({ thumbnailUrl, contentType, localUrl }) {
  const src = thumbnailUrl || localUrl;
  if (src) {
    const img = document.createElement("img");
    img.className = "file-thumb";
    img.src = src;
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    return img;
  }
  const { label, kind } = typeLabel(contentType);
  const icon = document.createElement("span");
  icon.className = "file-icon";
  icon.dataset.kind = kind;
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = label;
  return icon;
}

export class UploadError extends Error {
  constructor({ status, code, message, details }) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "unknown";
    this.details = details || {};
  }
}

/**
 * POST files as multipart with progress: ``onProgress(loaded, total)``. Returns
 * {promise, abort}; the promise resolves with the JSON answer or rejects with UploadError
 * (code "aborted" after abort()).
 */
export function uploadFiles(url, { files, fields = {}, onProgress }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    // Fields first: the server knows the tenant's limit before the first file arrives.
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null && value !== "") form.append(key, String(value));
    }
    for (const file of files) form.append("files", file, file.name);
    const query = fields.tenantId ? `?tenantId=${encodeURIComponent(fields.tenantId)}` : "";
    xhr.open("POST", url + query);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (onProgress) onProgress(event.loaded, event.lengthComputable ? event.total : 0);
    });
    xhr.addEventListener("load", () => {
      const data = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const error = (data && data.error) || {};
        reject(new UploadError({ status: xhr.status, ...error }));
      }
    });
    xhr.addEventListener("error", () => reject(new UploadError({ status: 0, code: "network" })));
    xhr.addEventListener("abort", () => reject(new UploadError({ status: 0, code: "aborted" })));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
