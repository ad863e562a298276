"""The publisher interface that messaging's notify_* step hands its events to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from messaging.events import MessageEvent


class EventPublisher:
    """Delivers events to the streams of the users they are meant for.

    Subclasses must write ``publish(prepared)``. It runs after the transaction that made
    the change has committed and must not raise for a delivery problem, since the change
    is kept. ``prepare(events)`` runs first, inside that transaction (where a publisher
    stores events with the change); by default it hands the events on unchanged.
    """

    def prepare(self, events: list[MessageEvent]) -> Any:
        return events

    def publish(self, prepared: Any) -> None:
        raise NotImplementedError("EventPublisher subclasses must write publish(prepared)")
