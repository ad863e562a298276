// Translated strings for the scripts, rendered by the server into data-* attributes.

const source = document.querySelector("[data-messaging-strings]");

/** The string for ``key`` (a data-* name in camelCase), with {placeholders} filled in. */
export function t(key, values = {}) {
  const template = (source && source.dataset[key]) || key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.hasOwn(values, name) ? String(values[name]) : match,
  );
}
