// The page's language for scripts: Django's JavaScriptCatalog (loaded by base.html as a
// plain script from /<lang>/jsi18n/, so no inline script is needed) and Intl formats.

const catalog = globalThis.django;

/** The translation of ``msgid`` in the page's language, or ``msgid`` itself. */
export function gettext(msgid) {
  return catalog ? catalog.gettext(msgid) : msgid;
}

/** The singular or plural translation for ``count``. */
export function ngettext(singular, plural, count) {
  if (catalog) return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** ``template`` with its {placeholders} filled from ``values`` (unknown ones left alone). */
export function fill(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.hasOwn(values, name) ? String(values[name]) : match,
  );
}

/** The page's language, as the server rendered it into <html lang>. */
export const language = document.documentElement.lang || "en";

const numberFormat = new Intl.NumberFormat(language);

/** ``value`` with the page language's digit grouping and decimal sign. */
export function formatNumber(value) {
  return numberFormat.format(value);
}
