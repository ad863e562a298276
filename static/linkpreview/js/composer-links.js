// Links in the composer: while the sender types, the links found in the body are shown
// with their real domain and warnings and, once fetched, their preview card, which the
// sender can drop; send then names the dropped ones (omitLinkPreviews).

import { linksApi } from "./api.js";
import { linkCard } from "./cards.js";
import { t } from "./strings.js";

const DEBOUNCE_MS = 400;
const POLL_MS = [600, 1000, 1500, 2000, 3000, 4000, 5000];

export function createComposerLinks({ body }) {
  const panel = document.createElement("div");
  panel.className = "composer-links";
  panel.dataset.composerLinks = "";
  panel.setAttribute("aria-live", "polite");
  panel.hidden = true;
  (body.closest(".field") || body).after(panel);

  const omitted = new Set();
  const previews = new Map(); // normalizedUrl -> {status, preview}
  let found = [];
  let timer = null;
  let controller = null;
  let generation = 0;

  function draw() {
    const cards = found.map((link) => {
      const state = previews.get(link.normalizedUrl);
      if (omitted.has(link.normalizedUrl)) {
        const card = linkCard(link, {
          status: "removed",
          actions: [{ action: "restore", label: t("restorePreview") }],
        });
        card.querySelector(".link-card__status").textContent = t("previewDropped");
        return card;
      }
      if (!link.previewable || state?.status === "unavailable") {
        return linkCard(link, { status: "unavailable" });
      }
      if (state?.status === "ready") {
        return linkCard(
          { ...link, ...state.preview, warnings: state.preview.warnings || link.warnings },
          { status: "ready", actions: [{ action: "drop", label: t("dropPreview") }] },
        );
      }
      return linkCard(link, { status: "pending", actions: [{ action: "drop", label: t("dropPreview") }] });
    });
    panel.replaceChildren(...cards);
    panel.hidden = cards.length === 0;
  }

  async function fetchPreview(url, mine) {
    for (let attempt = 0; attempt <= POLL_MS.length; attempt++) {
      if (mine !== generation && !found.some((link) => link.normalizedUrl === url)) return;
      try {
        const answer = await linksApi.preview(url);
        if (answer && answer.status !== "pending") {
          previews.set(url, { status: "ready", preview: answer });
          draw();
          return;
        }
      } catch (error) {
        previews.set(url, { status: "unavailable" });
        draw();
        return;
      }
      if (attempt === POLL_MS.length) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS[attempt]));
    }
    previews.set(url, { status: "unavailable" });
    draw();
  }

  async function detect() {
    const text = body.value;
    const mine = ++generation;
    controller?.abort();
    if (!/[.:]/.test(text)) {
      found = [];
      draw();
      return;
    }
    controller = new AbortController();
    let answer;
    try {
      answer = await linksApi.process(text, { signal: controller.signal });
    } catch {
      return; // aborted by newer typing, or offline: the send still finds the links
    }
    if (mine !== generation) return;
    found = answer.links || [];
    draw();
    for (const link of found) {
      if (link.previewable && !previews.has(link.normalizedUrl)) {
        previews.set(link.normalizedUrl, { status: "pending" });
        fetchPreview(link.normalizedUrl, mine);
      }
    }
  }

  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(detect, DEBOUNCE_MS);
  });

  panel.addEventListener("click", (event) => {
    const button = event.target.closest("[data-link-action]");
    const url = button?.closest("[data-link-card]")?.dataset.url;
    if (!url) return;
    if (button.dataset.linkAction === "drop") omitted.add(url);
    else if (button.dataset.linkAction === "restore") omitted.delete(url);
    draw();
    panel.querySelector(`[data-link-card][data-url="${CSS.escape(url)}"] [data-link-action]`)?.focus();
  });

  return {
    /** The links whose preview the sender dropped, for the send payload. */
    omitted: () => found.map((link) => link.normalizedUrl).filter((url) => omitted.has(url)),
    /** Detect now (a reply or a reset sets the body without an input event). */
    refresh: detect,
    reset() {
      clearTimeout(timer);
      controller?.abort();
      generation++;
      omitted.clear();
      found = [];
      draw();
    },
  };
}
