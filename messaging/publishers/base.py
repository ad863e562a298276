"""The publisher interface that messaging's notify_* step hands its events to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harbor_messaging import sql

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

    def prepare_with(self, events: list[MessageEvent], writes: Sequence[sql.Write]) -> Any:
        """``prepare(events)`` after ``writes``, the change the events are of, in one
        transaction with it. By default the writes run first (on PostgreSQL as one
        statement, which is a transaction of its own where none is open); a publisher
        that stores events in the same database may run them in its own statement.
        ``events.publish_on_commit`` calls this, with no writes for most changes."""
        sql.run_writes(writes)
        return self.prepare(events)

    def publish(self, prepared: Any) -> None:
        raise NotImplementedError("EventPublisher subclasses must write publish(prepared)")
