// Safety cues beside every link a message body shows: its real domain, and a warning for
// http, punycode or mixed-script domains, bare IP addresses and the like. The server puts
// the domain and the warning codes on each link (data-link-domain, data-link-warnings);
// this module only writes them out, as text, wherever such links appear on the page.

import { t, warningText } from "./strings.js";

/** A small element: the domain, then each warning as a badge. Text only, never HTML. */
export function domainCue(domain, warnings = []) {
  const cue = document.createElement("span");
  cue.className = "link-cue";
  cue.dataset.linkCue = "";
  const name = document.createElement("span");
  name.className = "link-cue__domain";
  name.textContent = domain;
  cue.append(name);
  for (const code of warnings) {
    const badge = document.createElement("span");
    badge.className = "link-cue__warning";
    badge.dataset.warning = code;
    badge.textContent = warningText(code);
    cue.append(" ", badge);
  }
  return cue;
}

function decorate(anchor) {
  if (anchor.dataset.cued) return;
  anchor.dataset.cued = "true";
  const domain = anchor.dataset.linkDomain;
  const warnings = (anchor.dataset.linkWarnings || "").split(/\s+/).filter(Boolean);
  anchor.title = t("opensDomain", { domain });
  if (warnings.length) anchor.classList.add("has-link-warning");
  const cue = domainCue(domain, warnings);
  cue.prepend(document.createTextNode("("));
  cue.append(document.createTextNode(")"));
  anchor.after(" ", cue);
}

/** Decorate the links in ``element`` now. */
export function addCues(element) {
  for (const anchor of element.querySelectorAll("a[data-link-domain]")) decorate(anchor);
}

/** Keep decorating links as the page renders message bodies into ``root``. */
export function watchCues(root) {
  addCues(root);
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        if (node.matches("a[data-link-domain]")) decorate(node);
        else addCues(node);
      }
    }
  });
  observer.observe(root, { childList: true, subtree: true });
  return observer;
}
