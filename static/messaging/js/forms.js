// Showing the API's field errors next to the fields of a form.

/** Clear every error message and aria-invalid mark in ``form``. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute("aria-invalid");
}

/**
 * Put ``message`` next to the field named ``field`` (or at the top of the form when there
 * is no slot for it); ``inputs`` maps field names to the control to mark and focus.
 */
export function showError(form, field, message, inputs = {}) {
  const slot =
    (field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`)) ||
    form.querySelector('[data-error-for="form"]');
  if (slot) {
    slot.textContent = message;
    slot.hidden = false;
  }
  const input = field ? inputs[field] : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  } else if (slot) {
    slot.tabIndex = -1;
    slot.focus();
  }
}
