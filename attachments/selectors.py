"""Reads: a page's attachments in one query, one message's, and one attachment a user may
download (its message's sender and recipients, and the file's owner)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.contrib.auth.models import User

from harbor_messaging import sql
from harbor_messaging.errors import NotFound
from messaging.models import Message
from messaging.selectors import message_for_viewer
from messaging.serialization import iso

from .models import MessageAttachment


class AttachmentRow(NamedTuple):
    """A page's attachment as attachment_json reads it: its columns, no model instances."""

    id: int
    message_id: int
    media_file_id: int
    attachment_type: str
    file_name: str
    file_size: int
    content_type: str
    created_at: dt.datetime


def attachment_json(
    attachment: MessageAttachment | AttachmentRow, *, has_thumbnail: bool
) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "messageId": attachment.message_id,
        "mediaFileId": attachment.media_file_id,
        "attachmentType": attachment.attachment_type,
        "fileName": attachment.file_name,
        "fileSize": attachment.file_size,
        "contentType": attachment.content_type,
        "createdAt": iso(attachment.created_at),
        "url": f"/api/messaging/attachments/{attachment.id}/download",
        "thumbnailUrl": (
            f"/api/messaging/attachments/{attachment.id}/thumbnail" if has_thumbnail else None
        ),
    }


# Plain SQL, the same on SQLite and PostgreSQL: through the ORM, setting this query up and
# compiling it took longer than running it (~1 ms a page on PostgreSQL, 0.2-0.4 ms of it
# the database's).
_ATTACHMENTS_SQL = (
    f"SELECT {', '.join('a.' + name for name in AttachmentRow._fields)}, f.thumbnail"
    " FROM attachments_messageattachment a JOIN media_mediafile f ON f.id = a.media_file_id"
    " WHERE a.message_id IN ({marks}) ORDER BY a.message_id, a.id"
)


def attachments_by_message(message_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachment objects of messages that have any, in one query (none for no ids).

    The caller passes only the messages whose ``has_attachments`` is set.
    """
    ids = list(message_ids)
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    for *fields, created_at, thumbnail in sql.fetch(
        _ATTACHMENTS_SQL.format(marks=sql.marks(ids)), ids
    ):
        # SQLite gives back the stored UTC time naive (the ORM makes it aware the same way).
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.UTC)
        row = AttachmentRow._make((*fields, created_at))
        out[row.message_id].append(attachment_json(row, has_thumbnail=bool(thumbnail)))
    return out


def attachments_of(message: Message) -> list[dict[str, Any]]:
    if not message.has_attachments:
        return []
    return attachments_by_message([message.pk]).get(message.pk, [])


def attachment_for_download(*, user: User, attachment_id: int) -> MessageAttachment:
    """The attachment, if the user is its message's sender or a recipient still holding it,
    or the file's owner (in a tenant they still belong to); else 404."""
    attachment = (
        MessageAttachment.objects.select_related("media_file", "media_file__tenant")
        .filter(pk=attachment_id)
        .first()
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    try:
        message_for_viewer(user=user, message_id=attachment.message_id)
    except NotFound:
        media_file = attachment.media_file
        owner_here = media_file.owner_id == user.pk and (
            user.is_superuser or media_file.tenant.memberships.filter(user_id=user.pk).exists()
        )
        if not owner_here:
            raise NotFound("No such attachment.") from None
    return attachment
