"""A publisher that keeps events in memory, for tests that check what an action sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .base import EventPublisher

if TYPE_CHECKING:
    from messaging.events import MessageEvent


class MemoryPublisher(EventPublisher):
    published: ClassVar[list[MessageEvent]] = []

    def publish(self, events: list[MessageEvent]) -> None:
        type(self).published.extend(events)

    @classmethod
    def clear(cls) -> None:
        cls.published.clear()
