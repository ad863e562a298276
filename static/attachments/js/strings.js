// Translated strings for the attachment scripts, from the data-* attributes of the partials.

const sources = () => document.querySelectorAll("[data-attachments-strings]");

/** The string for ``key`` (a data-* name in camelCase), with {placeholders} filled in. */
export function t(key, values = {}) {
  let template = key;
  for (const source of sources()) {
    if (source.dataset[key]) {
      template = source.dataset[key];
      break;
    }
  }
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.hasOwn(values, name) ? String(values[name]) : match,
  );
}
