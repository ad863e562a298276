"""The stream publisher, also keeping what it published in memory: for tests that check
which events an action sent, and only after its transaction committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from harbor_messaging import sql

from .eventstream import StreamPublisher

if TYPE_CHECKING:
    from messaging.events import MessageEvent


class MemoryPublisher(StreamPublisher):
    published: ClassVar[list[MessageEvent]] = []

    def prepare_with(self, events: list[MessageEvent], writes: Sequence[sql.Write]) -> Any:
        return (list(events), super().prepare_with(events, writes))

    def publish(self, prepared: Any) -> None:
        events, stored = prepared
        type(self).published.extend(events)
        super().publish(stored)

    @classmethod
    def clear(cls) -> None:
        cls.published.clear()
