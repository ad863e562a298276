// How messages read in the list and the reader: times, snippets and names.

import { t } from "./strings.js";

const lang = document.documentElement.lang || undefined;
const timeOnly = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(lang, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});
const fullDate = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", year: "numeric" });
const longDate = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" });

/** A short local time for a list row: the time today, day and time this year, else a date. */
export function shortTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return timeOnly.format(date);
  if (date.getFullYear() === now.getFullYear()) return dayAndTime.format(date);
  return fullDate.format(date);
}

export function longTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : longDate.format(date);
}

/** Fill a <time> element with a local rendering of its ISO value. */
export function setTime(element, iso, formatter = shortTime) {
  if (!element) return;
  element.dateTime = iso || "";
  element.textContent = iso ? formatter(iso) : "";
  if (iso) element.title = longTime(iso);
}

const SNIPPET_MAX = 140;

/** The list snippet, cut as the server's truncatechars:140 cuts it. */
export function snippet(body) {
  const text = (body || "").normalize("NFC");
  return text.length > SNIPPET_MAX ? `${text.slice(0, SNIPPET_MAX - 1)}…` : text;
}

export function subjectText(subject) {
  return subject && subject.trim() ? subject : t("noSubject");
}

/** Who a message went to, as a row or the reader names them. */
export function recipientsText(message, tenantName) {
  if (message.audience && message.audience !== "direct") return t("everyoneIn", { tenant: tenantName });
  return (message.recipients || []).map((r) => r.name).join(", ");
}
