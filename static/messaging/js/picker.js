// The composer's recipient picker: an ARIA 1.2 combobox over /api/messaging/members, the
// chosen members as chips with remove buttons, and (tenant admins) "everyone in the tenant".

import { t } from "./strings.js";

const SEARCH_DELAY_MS = 150;

export function createPicker({ root, store, messaging }) {
  const input = root.querySelector("[data-picker-input]");
  const listbox = root.querySelector("[data-picker-options]");
  const chips = root.querySelector("[data-picker-chips]");
  const status = root.querySelector("[data-picker-status]");
  const everyone = root.querySelector("[data-recipients-all]");
  const chipTemplate = document.getElementById("recipient-chip-template");
  const optionTemplate = document.getElementById("member-option-template");

  const chosen = new Map(); // user id -> {id, name, username}
  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  function say(text) {
    status.textContent = text;
  }

  function isOpen() {
    return !listbox.hidden;
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function setActive(index) {
    const options = [...listbox.querySelectorAll('[role="option"]')];
    active = options.length ? (index + options.length) % options.length : -1;
    options.forEach((option, i) => {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
      option.classList.toggle("is-active", i === active);
    });
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  }

  function renderOptions() {
    const available = results.filter((member) => !chosen.has(member.id));
    if (!available.length) {
      const none = document.createElement("li");
      none.className = "picker__option picker__option--empty";
      none.setAttribute("role", "presentation");
      none.textContent = t("noMembers");
      listbox.replaceChildren(none);
    } else {
      listbox.replaceChildren(
        ...available.map((member) => {
          const option = optionTemplate.content.firstElementChild.cloneNode(true);
          option.id = `composer-recipient-option-${member.id}`;
          option.dataset.userId = String(member.id);
          option.querySelector('[data-field="name"]').textContent = member.name;
          option.querySelector('[data-field="username"]').textContent = `@${member.username}`;
          return option;
        }),
      );
    }
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    setActive(available.length ? 0 : -1);
    say(t("optionsCount", { count: available.length }));
  }

  async function search() {
    controller?.abort();
    controller = new AbortController();
    try {
      const data = await messaging.members(store.tenantId, input.value.trim(), {
        signal: controller.signal,
      });
      results = data.results || [];
      if (document.activeElement === input) renderOptions();
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  function scheduleSearch() {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  }

  function renderChips() {
    chips.replaceChildren(
      ...[...chosen.values()].map((member) => {
        const chip = chipTemplate.content.firstElementChild.cloneNode(true);
        chip.dataset.recipientId = String(member.id);
        chip.querySelector('[data-field="name"]').textContent = member.name;
        chip.querySelector('[data-field="remove-label"]').textContent = t("removeRecipient", {
          name: member.name,
        });
        return chip;
      }),
    );
    chips.hidden = chosen.size === 0;
  }

  function add(member) {
    if (chosen.has(member.id)) return;
    chosen.set(member.id, { id: member.id, name: member.name, username: member.username });
    renderChips();
    input.value = "";
    input.removeAttribute("aria-invalid");
    close();
    say(t("recipientAdded", { name: member.name }));
  }

  function remove(id) {
    const member = chosen.get(id);
    if (!member) return;
    chosen.delete(id);
    renderChips();
    say(t("recipientRemoved", { name: member.name }));
  }

  function chooseActive() {
    const option = listbox.querySelectorAll('[role="option"]')[active];
    if (!option) return false;
    const member = results.find((m) => m.id === Number(option.dataset.userId));
    if (member) add(member);
    return Boolean(member);
  }

  input.addEventListener("input", scheduleSearch);
  input.addEventListener("focus", () => {
    if (input.value.trim()) scheduleSearch();
  });
  input.addEventListener("blur", () => {
    // Let a click on an option land before the list goes away.
    setTimeout(() => {
      if (document.activeElement !== input) close();
    }, 150);
  });
  input.addEventListener("keydown", (event) => {
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (isOpen()) setActive(active + 1);
        else search();
        break;
      case "ArrowUp":
        if (isOpen()) {
          event.preventDefault();
          setActive(active - 1);
        }
        break;
      case "Enter":
        // Enter in the picker adds a recipient; it never sends the message.
        event.preventDefault();
        if (isOpen()) chooseActive();
        break;
      case "Escape":
        if (isOpen()) {
          event.preventDefault();
          event.stopPropagation();
          close();
        }
        break;
      case "Backspace":
        if (!input.value && chosen.size) {
          const last = [...chosen.keys()].pop();
          remove(last);
        }
        break;
      default:
        break;
    }
  });

  // mousedown, not click: the input keeps focus, so the list is still there to click.
  listbox.addEventListener("mousedown", (event) => {
    const option = event.target.closest('[role="option"]');
    if (!option) return;
    event.preventDefault();
    const member = results.find((m) => m.id === Number(option.dataset.userId));
    if (member) add(member);
  });

  chips.addEventListener("click", (event) => {
    const button = event.target.closest('[data-action="remove-recipient"]');
    if (!button) return;
    remove(Number(button.closest("[data-recipient-id]").dataset.recipientId));
    input.focus();
  });

  everyone?.addEventListener("change", () => {
    const all = everyone.checked;
    root.querySelector("[data-picker]").classList.toggle("is-disabled", all);
    input.disabled = all;
    for (const button of chips.querySelectorAll("button")) button.disabled = all;
    if (all) close();
  });

  renderChips();

  return {
    /** "all", or the chosen user ids. */
    value() {
      if (everyone?.checked) return "all";
      return [...chosen.keys()];
    },
    names() {
      if (everyone?.checked) return t("everyoneIn", { tenant: store.tenantName });
      return [...chosen.values()].map((m) => m.name).join(", ");
    },
    set(members) {
      chosen.clear();
      for (const member of members) chosen.set(member.id, { username: "", ...member });
      if (everyone && everyone.checked) {
        everyone.checked = false;
        everyone.dispatchEvent(new Event("change"));
      }
      renderChips();
    },
    clear() {
      this.set([]);
      input.value = "";
      close();
      say("");
    },
    focus() {
      (everyone?.checked ? everyone : input).focus();
    },
    input,
  };
}
