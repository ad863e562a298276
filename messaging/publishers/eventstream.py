"""The real publisher: events stored with the change, then streamed live after commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder

from harbor_messaging import sql
from messaging import relay
from messaging.channels import tenant_channel, user_channel
from messaging.stream_storage import StoredEvent, append_events

from .base import EventPublisher

if TYPE_CHECKING:
    from messaging.events import MessageEvent

logger = logging.getLogger(__name__)


def encode(event: MessageEvent) -> str:
    return json.dumps(
        event.wire(), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    )


class StreamPublisher(EventPublisher):
    """Stores each event on its channels inside the sending transaction (prepare), and
    hands the stored events to the relay once it commits (publish)."""

    def prepare(self, events: list[MessageEvent]) -> Any:
        return self.prepare_with(events, ())

    def prepare_with(self, events: list[MessageEvent], writes: Sequence[sql.Write]) -> Any:
        # The change and its events in one statement on PostgreSQL (stream_storage).
        return append_events(self._items(events), writes=writes)

    def _items(self, events: list[MessageEvent]) -> list[tuple[str, str, str, int | None]]:
        items: list[tuple[str, str, str, int | None]] = []
        for event in events:
            data = encode(event)  # Encoded once, however many channels it goes to.
            if event.to_tenant:
                skip = event.skip_user_ids[0] if event.skip_user_ids else None
                items.append((tenant_channel(event.tenant_slug), event.type, data, skip))
            items.extend(
                (user_channel(uid, event.tenant_slug), event.type, data, None)
                for uid in event.user_ids
            )
        return items

    def publish(self, events: Any) -> None:
        stored: list[StoredEvent] = events
        try:
            relay.send(stored)
        except Exception:
            logger.exception("Live delivery failed; streams will catch up from storage")
        from messaging import grip

        grip.publish(stored)
