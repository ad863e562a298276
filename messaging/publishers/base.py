"""The publisher interface that messaging's notify_* step hands its events to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messaging.events import MessageEvent


class EventPublisher:
    """Delivers events to the streams of the users they are meant for.

    Subclasses must write ``publish(events)``. It runs after the transaction that made the
    change has committed; it must not raise for a delivery problem, since the change is kept.
    """

    def publish(self, events: list[MessageEvent]) -> None:
        raise NotImplementedError("EventPublisher subclasses must write publish(events)")
