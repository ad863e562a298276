// Translated strings for the link preview scripts, from data-* attributes the server
// rendered (templates/linkpreview/_strings.html).

const source = () => document.querySelector("[data-linkpreview-strings]");

/** The string for ``key`` (a data-* name in camelCase), with {placeholders} filled in. */
export function t(key, values = {}) {
  const template = source()?.dataset[key] || key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.hasOwn(values, name) ? String(values[name]) : match,
  );
}

const WARNING_KEYS = {
  not_https: "warnNotHttps",
  punycode: "warnPunycode",
  mixed_script: "warnMixedScript",
  ip_address: "warnIpAddress",
  text_mismatch: "warnTextMismatch",
  userinfo: "warnUserinfo",
};

/** What a warning code means, in the page's language. */
export function warningText(code) {
  return t(WARNING_KEYS[code] || "warnOther", { code });
}
