"""Messages and users as the camelCase JSON of API.md, for one viewer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User

from .models import Message, MessageRecipient
from .rendering import stored_body_html


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def display_name(user: User) -> str:
    return name_from(
        username=str(user.get_username()),
        first_name=getattr(user, "first_name", ""),
        last_name=getattr(user, "last_name", ""),
    )


def name_from(*, username: str, first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip() or username


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": display_name(user)}


def message_json(
    message: Message,
    *,
    tenant_slug: str,
    viewer_id: int,
    delivery: MessageRecipient | None,
    recipients: list[dict[str, Any]] | None,
    attachments: list[dict[str, Any]] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The message object of API.md as ``viewer_id`` sees it.

    ``delivery`` is the viewer's own recipient row (None for the sender); ``recipients``
    are the users to list as ``user_json`` objects (None when the message went to a whole
    tenant).
    """
    is_sender = message.sender_id == viewer_id
    if delivery is not None:
        is_read: bool = delivery.read_at is not None
        read_at = delivery.read_at
    else:
        # A sender has nothing to read in their own message.
        is_read, read_at = True, None
    return {
        "id": message.pk,
        "tenantId": tenant_slug,
        "sender": user_json(message.sender),
        "recipients": recipients if recipients is not None else [],
        "recipientCount": message.recipient_count,
        "audience": message.audience,
        "subject": message.subject,
        "body": message.body,
        "bodyHtml": stored_body_html(
            body=message.body, body_html=message.body_html, version=message.body_html_version
        ),
        "createdAt": iso(message.created_at),
        "updatedAt": iso(message.updated_at),
        "editedAt": iso(message.edited_at),
        "isRead": is_read,
        "readAt": iso(read_at),
        "isSender": is_sender,
        "isBroadcast": message.is_broadcast,
        "replyToId": message.reply_to_id,
        "threadId": message.thread_id,
        "hasAttachments": message.has_attachments,
        "attachmentCount": message.attachment_count,
        # The attachment objects (attachments.selectors.attachment_json), in attach order.
        "attachments": attachments or [],
        # The link objects (linkpreview.selectors.link_json), in body order.
        "links": links or [],
    }
