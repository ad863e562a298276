"""django-eventstream's listener manager, keeping each large channel's listeners ready
for the relay's fan-out.

The relay hands a channel's listeners to their event loop in the order of their addresses
(relay.py). Copying, sorting and collecting the loops of 10,000 listeners took 4–7 ms of
every broadcast's latency, in the sending request's thread, before the loop wrote the
first event (docs/performance.md). The listeners change only when a stream opens or
closes, so the manager keeps the ordered tuple until the channel's set next changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from django_eventstream import views as eventstream_views

# Smaller channels (a user's own, a few streams) are ordered on each publish: it costs
# microseconds, and a kept order each would be memory for every user published to.
KEEP_FROM = 64

# A channel's listeners in address order, and the event loops they are on.
Ordered = tuple[tuple[Any, ...], frozenset[asyncio.AbstractEventLoop]]


def _order(listeners: Iterable[Any]) -> Ordered:
    ordered = tuple(sorted(listeners, key=id))
    return ordered, frozenset(item.loop for item in ordered if item.loop is not None)


class ListenerManager(eventstream_views.ListenerManager):  # type: ignore[misc]
    """As django-eventstream's, plus ``ordered(channel)``.

    Every add and remove forgets the channels' kept order and records when each changed
    (a counter of changes, under the manager's lock). ``ordered`` sorts outside the lock and
    keeps the result only if the channel did not change since it copied the set, so a
    kept order never lacks a stream that opened meanwhile nor holds one that closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._changes = 0
        self._changed: dict[str, int] = {}
        self._kept: dict[str, Ordered] = {}

    def add_listener(self, listener: Any) -> None:
        super().add_listener(listener)
        self._forget(listener.channels)

    def remove_listener(self, listener: Any) -> None:
        super().remove_listener(listener)
        self._forget(listener.channels)

    def _forget(self, channels: Iterable[str]) -> None:
        with self.lock:
            self._changes += 1
            for channel in channels:
                self._kept.pop(channel, None)
                if channel in self.listeners_by_channel:
                    self._changed[channel] = self._changes
                else:
                    self._changed.pop(channel, None)

    def ordered(self, channel: str) -> Ordered:
        """The channel's listeners in address order and their loops, as of this call."""
        with self.lock:
            kept = self._kept.get(channel)
            if kept is not None:
                return kept
            listeners = tuple(self.listeners_by_channel.get(channel, ()))
            copied = self._changes
        result = _order(listeners)
        if len(listeners) >= KEEP_FROM:
            with self.lock:
                if channel in self.listeners_by_channel and self._changed.get(channel, 0) <= copied:
                    self._kept[channel] = result
        return result


def install() -> ListenerManager:
    """Make this manager django-eventstream's (``get_listener_manager``), once, at start-up
    before any stream listens."""
    current = eventstream_views.listener_manager
    if isinstance(current, ListenerManager):
        return current
    if current.listeners_by_channel:
        raise RuntimeError("listener manager replaced while streams listen")
    manager = ListenerManager()
    eventstream_views.listener_manager = manager
    return manager
