// Link previews in the reader: a card under the open message's body for each link (a
// pending one until its preview arrives as message:update on the stream), the sender's
// refresh and remove, and the safety cues beside every link in every body on the page.

import { linksApi } from "./api.js";
import { linkCard } from "./cards.js";
import { watchCues } from "./cues.js";
import { t } from "./strings.js";

const SHOWN = new Set(["ready", "pending"]);

export function connectLinkPreviews({ root, store, announce = () => {} }) {
  watchCues(root);
  const reader = root.querySelector("[data-reader]");
  const body = reader?.querySelector(".reader__body");
  if (!reader || !body) return null;
  const section = document.createElement("section");
  section.className = "link-previews";
  section.dataset.linkPreviews = "";
  section.setAttribute("aria-label", t("previewsLabel"));
  section.hidden = true;
  body.after(section);
  let shownId = null;

  function cardFor(link, isSender) {
    if (!isSender) return linkCard(link);
    const refresh = { action: "refresh", label: t("refreshPreview") };
    if (link.status === "removed") {
      // Only the sender sees what they took down, to bring it back.
      const card = linkCard(link, { actions: [{ ...refresh, label: t("restoreRemoved") }] });
      card.querySelector(".link-card__status").textContent = t("previewRemovedNote");
      return card;
    }
    return linkCard(link, { actions: [refresh, { action: "remove", label: t("removePreview") }] });
  }

  function render(message) {
    shownId = message.id;
    const isSender = Boolean(message.isSender);
    const links = (message.links || []).filter(
      (link) => SHOWN.has(link.status) || (isSender && link.status === "removed"),
    );
    section.replaceChildren(...links.map((link) => cardFor(link, isSender)));
    section.hidden = links.length === 0;
  }

  function clear() {
    shownId = null;
    section.replaceChildren();
    section.hidden = true;
  }

  store.on("reader:open", ({ id }) => {
    if (id !== shownId) clear();
  });
  store.on("message:update", ({ message }) => {
    if (message.id === store.openId && Array.isArray(message.links)) render(message);
  });
  store.on("list:remove", ({ id }) => {
    if (id === shownId) clear();
  });

  section.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-link-action]");
    const card = button?.closest("[data-link-card]");
    if (!button || !card || shownId === null) return;
    const id = shownId;
    button.disabled = true;
    try {
      const call = button.dataset.linkAction === "remove" ? linksApi.remove : linksApi.refresh;
      const answer = await call(id, card.dataset.url);
      store.update(id, { links: answer.links });
      announce(button.dataset.linkAction === "remove" ? t("previewRemoved") : t("previewRefreshing"));
    } catch (error) {
      announce(t("previewActionFailed", { message: error.message }), { tone: "error" });
      button.disabled = false;
    }
  });

  return { render, clear };
}
