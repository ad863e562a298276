// Translated strings for the messaging scripts, from Django's JavaScriptCatalog
// (static/harbor/js/i18n.js); makemessages -d djangojs finds them in the gettext calls below.

import { fill, gettext } from "../../harbor/js/i18n.js";

const STRINGS = {
  to: gettext("To:"),
  everyoneIn: gettext("Everyone in {tenant}"),
  noSubject: gettext("(no subject)"),
  removeRecipient: gettext("Remove {name}"),
  noMembers: gettext("No members match."),
  sent: gettext("Message sent."),
  sentTo: gettext("Message sent to {names}."),
  saved: gettext("Changes saved."),
  deletedEveryone: gettext("Message deleted for everyone."),
  deletedMe: gettext("Message removed from your inbox."),
  markedUnread: gettext("Marked as unread."),
  allRead: gettext("All messages marked as read."),
  loadedMore: gettext("{count} more messages loaded."),
  loadFailed: gettext("Could not load messages. Check your connection and try again."),
  openFailed: gettext("Could not open the message."),
  actionFailed: gettext("That did not work: {message}"),
  recipientAdded: gettext("{name} added."),
  recipientRemoved: gettext("{name} removed."),
  optionsCount: gettext("{count} members found."),
  needRecipient: gettext("Choose at least one recipient."),
  needContent: gettext("Write a subject or a message."),
  newMessage: gettext("New message"),
  reply: gettext("Reply"),
  everyone: gettext("Everyone"),
  newMessageFrom: gettext("New message from {name}: {subject}"),
  newMessages: gettext("{count} new messages."),
  messageGone: gettext("The message you were reading was deleted."),
};

/** The string for ``key`` (camelCase), in the page's language, with {placeholders} filled in. */
export function t(key, values = {}) {
  return fill(Object.hasOwn(STRINGS, key) ? STRINGS[key] : key, values);
}
