// The page's polite live region: one short status line that screen readers announce.

const HIDE_AFTER_MS = 8000;

export function createStatus(region) {
  let timer = null;
  return function announce(text, { tone = "info" } = {}) {
    if (!region) return;
    clearTimeout(timer);
    // Clearing first makes a repeated message be announced again.
    region.textContent = "";
    region.dataset.tone = tone;
    region.classList.remove("is-visible");
    requestAnimationFrame(() => {
      region.textContent = text;
      region.classList.add("is-visible");
    });
    timer = setTimeout(() => {
      region.classList.remove("is-visible");
      region.textContent = "";
    }, HIDE_AFTER_MS);
  };
}
