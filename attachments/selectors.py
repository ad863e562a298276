"""Reads: a page's attachments in one query, one message's, and one attachment a user may
download (its message's sender and recipients, and the file's owner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User

from harbor_messaging.errors import NotFound
from messaging.models import Message
from messaging.selectors import message_for_viewer
from messaging.serialization import iso

from .models import MessageAttachment


def attachment_json(attachment: MessageAttachment, *, has_thumbnail: bool) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "messageId": attachment.message_id,
        "mediaFileId": attachment.media_file_id,
        "attachmentType": attachment.attachment_type,
        "fileName": attachment.file_name,
        "fileSize": attachment.file_size,
        "contentType": attachment.content_type,
        "createdAt": iso(attachment.created_at),
        "url": f"/api/messaging/attachments/{attachment.pk}/download",
        "thumbnailUrl": (
            f"/api/messaging/attachments/{attachment.pk}/thumbnail" if has_thumbnail else None
        ),
    }


def attachments_by_message(messages: Iterable[Message]) -> dict[int, list[dict[str, Any]]]:
    """The attachment objects of the messages that have any, in one query (none if none do)."""
    ids = [m.pk for m in messages if m.has_attachments]
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    rows = (
        MessageAttachment.objects.filter(message_id__in=ids)
        .select_related("media_file")
        .only(*_LIST_FIELDS)
        .order_by("message_id", "id")
    )
    for row in rows:
        out[row.message_id].append(
            attachment_json(row, has_thumbnail=bool(row.media_file.thumbnail))
        )
    return out


_LIST_FIELDS = (
    "id",
    "message_id",
    "media_file_id",
    "attachment_type",
    "file_name",
    "file_size",
    "content_type",
    "created_at",
    "media_file__thumbnail",
)


def attachments_of(message: Message) -> list[dict[str, Any]]:
    return attachments_by_message([message]).get(message.pk, [])


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
