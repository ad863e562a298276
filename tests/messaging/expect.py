"""What API tests assert again and again: the error JSON of API.md and an unchanged database."""

from __future__ import annotations

import re
from typing import Any

from messaging.models import Message, MessageRecipient

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

# The message object of API.md, and the three keys this project adds to it.
MESSAGE_KEYS = {
    "id",
    "tenantId",
    "sender",
    "recipients",
    "subject",
    "body",
    "bodyHtml",
    "createdAt",
    "updatedAt",
    "editedAt",
    "isRead",
    "readAt",
    "isBroadcast",
    "replyToId",
    "threadId",
    "hasAttachments",
    "attachmentCount",
    "attachments",
    "links",
    # Extras: how many it went to, to whom ("direct" | "tenant" | "broadcast"), and
    # whether the viewer sent it.
    "recipientCount",
    "audience",
    "isSender",
}


def error(response: Any, status: int, code: str, *, field: str | None = None) -> dict[str, Any]:
    """Assert the error JSON of API.md with this status and code; return its ``error``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) <= {"code", "message", "details"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    if "details" in err:
        assert isinstance(err["details"], dict), err
    if field is not None:
        assert err.get("details", {}).get("field") == field, err
    return dict(err)


def db_state() -> tuple[Any, ...]:
    """Everything a request could change about messages, to compare before and after."""
    return (
        Message.objects.count(),
        MessageRecipient.objects.count(),
        list(
            Message.objects.order_by("id").values_list(
                "id", "subject", "body", "edited_at", "deleted_at", "updated_at"
            )
        ),
        list(
            MessageRecipient.objects.order_by("id").values_list(
                "id", "message_id", "user_id", "read_at", "deleted_at"
            )
        ),
    )


def message_shape(message: dict[str, Any]) -> None:
    """The keys and the types of the message object."""
    assert set(message) == MESSAGE_KEYS, set(message) ^ MESSAGE_KEYS
    assert isinstance(message["id"], int)
    assert isinstance(message["tenantId"], str)
    assert set(message["sender"]) == {"id", "name"}
    for recipient in message["recipients"]:
        assert set(recipient) == {"id", "name"}
    for key in ("createdAt", "updatedAt"):
        assert ISO_Z.match(message[key]), message[key]
    for key in ("editedAt", "readAt"):
        assert message[key] is None or ISO_Z.match(message[key]), message[key]
    assert isinstance(message["isRead"], bool)
    assert isinstance(message["threadId"], int)
    assert message["attachments"] == [] or isinstance(message["attachments"], list)
