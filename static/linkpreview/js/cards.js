// Preview cards: a link's title, description, site name and thumbnail, with its real
// domain and warnings. Everything is set as text; the only image source is our own
// thumbnail URL, so the viewer's browser never calls the linked site.

import { domainCue } from "./cues.js";
import { t } from "./strings.js";

const THUMBNAILS = "/api/messaging/links/thumbnails/";

function text(tag, className, value) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = value;
  return element;
}

/**
 * A card for ``link`` (a Link object of docs/api.md, or a preview from /links/preview).
 * ``actions``: [{action, label}] buttons on the card, for the sender.
 */
export function linkCard(link, { actions = [], status = link.status || "ready" } = {}) {
  const card = document.createElement("article");
  card.className = `link-card link-card--${status}`;
  card.dataset.linkCard = "";
  card.dataset.url = link.normalizedUrl || link.url;
  const body = document.createElement("div");
  body.className = "link-card__body";
  if (status === "ready") {
    if (link.siteName) body.append(text("p", "link-card__site", link.siteName));
    const title = text("p", "link-card__title", link.title || link.displayDomain || link.domain);
    body.append(title);
    if (link.description) body.append(text("p", "link-card__description", link.description));
  } else if (status === "pending") {
    body.append(text("p", "link-card__status", t("previewLoading")));
  } else {
    body.append(text("p", "link-card__status", t("previewNone")));
  }
  const where = document.createElement("p");
  where.className = "link-card__domain";
  where.append(domainCue(link.displayDomain || link.domain, link.warnings || []));
  body.append(where);
  if (status === "ready" && link.thumbnailUrl && link.thumbnailUrl.startsWith(THUMBNAILS)) {
    const image = document.createElement("img");
    image.className = "link-card__image";
    image.src = link.thumbnailUrl;
    image.alt = "";
    image.loading = "lazy";
    image.referrerPolicy = "no-referrer";
    card.append(image);
  }
  card.append(body);
  if (actions.length) {
    const bar = document.createElement("div");
    bar.className = "link-card__actions";
    for (const { action, label } of actions) {
      const button = text("button", "button button--quiet button--small", label);
      button.type = "button";
      button.dataset.linkAction = action;
      button.setAttribute("aria-label", `${label}: ${link.displayDomain || link.domain}`);
      bar.append(button);
    }
    card.append(bar);
  }
  return card;
}
