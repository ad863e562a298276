"""Messages and users as the camelCase JSON of API.md, for one viewer."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from typing import Any, NamedTuple

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


class MessageRow(NamedTuple):
    """A message as its JSON is built: its own columns and its sender's, read straight from
    the database for a page (no model instances), and the viewer's read state."""

    tenant_slug: str
    # Whether the viewer has a recipient row (False for the sender's own message).
    delivered: bool
    read_at: dt.datetime | None
    id: int
    sender_id: int
    sender_username: str
    sender_first_name: str
    sender_last_name: str
    audience: str
    recipients_shown: list[dict[str, Any]] | None
    recipient_count: int
    subject: str
    body: str
    body_html: str
    body_html_version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    edited_at: dt.datetime | None
    is_broadcast: bool
    reply_to_id: int | None
    thread_root_id: int | None
    has_attachments: bool
    attachment_count: int

    @classmethod
    def of(
        cls, message: Message, delivery: MessageRecipient | None, *, tenant_slug: str
    ) -> MessageRow:
        """The row of a message already loaded (one message, a thread, a send)."""
        return cls(
            tenant_slug,
            delivery is not None,
            delivery.read_at if delivery is not None else None,
            *(_attribute(message, column) for column in ROW_COLUMNS),
        )


def _attribute(message: Message, column: str) -> Any:
    """A ROW_COLUMNS column of a loaded message: ``sender__username`` is its sender's."""
    return reduce(getattr, column.split("__"), message)


# The Message columns of a MessageRow, in its order from ``id`` on: what a page selects,
# after a prefix ("message__" from a recipient row).
ROW_COLUMNS = (
    "id",
    "sender_id",
    "sender__username",
    "sender__first_name",
    "sender__last_name",
    "audience",
    "recipients_shown",
    "recipient_count",
    "subject",
    "body",
    "body_html",
    "body_html_version",
    "created_at",
    "updated_at",
    "edited_at",
    "is_broadcast",
    "reply_to_id",
    "thread_root_id",
    "has_attachments",
    "attachment_count",
)


def message_json(
    row: MessageRow,
    *,
    viewer_id: int,
    recipients: list[dict[str, Any]] | None,
    attachments: list[dict[str, Any]] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The message object of API.md as ``viewer_id`` sees it.

    ``recipients`` are the users to list as ``user_json`` objects (None when the message
    went to a whole tenant).
    """
    # A sender has nothing to read in their own message.
    is_read = row.read_at is not None if row.delivered else True
    return {
        "id": row.id,
        "tenantId": row.tenant_slug,
        "sender": {
            "id": row.sender_id,
            "name": name_from(
                username=row.sender_username,
                first_name=row.sender_first_name,
                last_name=row.sender_last_name,
            ),
        },
        "recipients": recipients if recipients is not None else [],
        "recipientCount": row.recipient_count,
        "audience": row.audience,
        "subject": row.subject,
        "body": row.body,
        "bodyHtml": stored_body_html(
            body=row.body, body_html=row.body_html, version=row.body_html_version
        ),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "editedAt": iso(row.edited_at),
        "isRead": is_read,
        "readAt": iso(row.read_at),
        "isSender": row.sender_id == viewer_id,
        "isBroadcast": row.is_broadcast,
        "replyToId": row.reply_to_id,
        "threadId": row.thread_root_id or row.id,
        "hasAttachments": row.has_attachments,
        "attachmentCount": row.attachment_count,
        # The attachment objects (attachments.selectors.attachment_json), in attach order.
        "attachments": attachments or [],
        # The link objects (linkpreview.selectors.link_json), in body order.
        "links": links or [],
    }
