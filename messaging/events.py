"""Event payloads of API.md and publish_on_commit(), the one way events leave an action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from harbor_messaging import sql

from .publishers.base import EventPublisher
from .serialization import iso

MESSAGE_NEW = "message:new"
MESSAGE_READ = "message:read"
MESSAGE_DELETE = "message:delete"
MESSAGE_UPDATE = "message:update"
MESSAGE_ATTACHMENT_ADDED = "message:attachment:added"
MESSAGE_ATTACHMENT_REMOVED = "message:attachment:removed"

EVENT_TYPES = (
    MESSAGE_NEW,
    MESSAGE_READ,
    MESSAGE_DELETE,
    MESSAGE_UPDATE,
    MESSAGE_ATTACHMENT_ADDED,
    MESSAGE_ATTACHMENT_REMOVED,
)


@dataclass(frozen=True)
class MessageEvent:
    """One event, for either some users of a tenant or the whole tenant."""

    type: str
    tenant_slug: str
    message_id: int | None
    payload: dict[str, Any]
    user_ids: tuple[int, ...] = ()
    to_tenant: bool = False
    # On a tenant-wide event: users who get their own copy on their user channel instead.
    skip_user_ids: tuple[int, ...] = ()
    timestamp: datetime = field(default_factory=timezone.now)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if not self.to_tenant and not self.user_ids:
            raise ValueError("an event needs users or the whole tenant")

    def wire(self) -> dict[str, Any]:
        """The SSE ``data`` of API.md."""
        return {
            "type": self.type,
            "data": {
                "messageId": self.message_id,
                "tenantId": self.tenant_slug,
                "timestamp": iso(self.timestamp),
                "payload": self.payload,
            },
        }


_publisher: EventPublisher | None = None
_publisher_path: str | None = None


def get_publisher() -> EventPublisher:
    """The configured publisher, loaded on first use (``HARBOR_EVENT_PUBLISHER``)."""
    global _publisher, _publisher_path
    path = settings.HARBOR_EVENT_PUBLISHER
    if _publisher is None or _publisher_path != path:
        cls = import_string(path)
        _publisher = cls()
        _publisher_path = path
    assert _publisher is not None
    return _publisher


def publish_on_commit(events: list[MessageEvent], *, writes: Sequence[sql.Write] = ()) -> None:
    """Hand the events to the publisher once the current transaction commits, never before.

    ``writes``: the change itself, not yet made, to be made with the events' storage in
    one transaction (``EventPublisher.prepare_with``); outside a transaction that one is
    the statement's own, and the events go out as soon as it has run.
    """
    if not events and not writes:
        return
    publisher = get_publisher()
    # Stored with the change (when the publisher stores), delivered only once it commits.
    prepared = publisher.prepare_with(list(events), writes)
    if events:
        transaction.on_commit(lambda: publisher.publish(prepared), robust=True)
