"""Persistent event storage for django-eventstream, written in the sending transaction.

Events are stored together with the change that caused them (an outbox), so an event
exists exactly when its change committed; ids are assigned under a row lock on the
channel's counter, so within a channel they commit in order and a reader never sees a
later id before an earlier one. Retention is trimmed by ``manage.py cleanup --events``,
never row by row on every send.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_eventstream.event import Event
from django_eventstream.storage import EventDoesNotExist, StorageBase

from .models import StreamChannel, StreamEvent

RETENTION = dt.timedelta(hours=48)


@dataclass(frozen=True)
class StoredEvent:
    channel: str
    eid: int
    type: str
    data: str
    skip_user_id: int | None = None
    # The row's id: the order events were stored in, across channels.
    seq: int = 0

    def as_event(self) -> Event:
        return stream_event(
            self.channel, self.type, self.data, self.eid, self.skip_user_id, self.seq
        )


def stream_event(
    channel: str, event_type: str, data: str, eid: int, skip_user_id: int | None, seq: int
) -> Event:
    """django-eventstream's Event, carrying who is not to see it on this channel and
    its place in the order of all stored events (so a stream can merge its channels)."""
    event = Event(channel, event_type, data, id=eid)
    event.skip_user_id = skip_user_id
    event.seq = seq
    return event


def _lock_channels(names: Iterable[str]) -> dict[str, StreamChannel]:
    """Lock the counters, creating missing ones; sorted so two senders never deadlock."""
    wanted = sorted(set(names))
    existing = {
        c.name: c for c in StreamChannel.objects.select_for_update().filter(name__in=wanted)
    }
    for name in wanted:
        if name in existing:
            continue
        try:
            with transaction.atomic():
                StreamChannel.objects.create(name=name)
        except IntegrityError:
            pass  # Another sender made it first; the lock below waits for them.
        existing[name] = StreamChannel.objects.select_for_update().get(name=name)
    return existing


def append_events(items: list[tuple[str, str, str, int | None]]) -> list[StoredEvent]:
    """Store (channel, type, data, skip_user_id) items in order; returns them with ids."""
    if not items:
        return []
    with transaction.atomic():
        channels = _lock_channels(item[0] for item in items)
        next_id = {name: c.last_id for name, c in channels.items()}
        stored: list[StoredEvent] = []
        for channel, event_type, data, skip_user_id in items:
            next_id[channel] += 1
            stored.append(StoredEvent(channel, next_id[channel], event_type, data, skip_user_id))
        rows = StreamEvent.objects.bulk_create(
            [
                StreamEvent(
                    channel=s.channel,
                    eid=s.eid,
                    type=s.type,
                    data=s.data,
                    skip_user_id=s.skip_user_id,
                )
                for s in stored
            ],
            batch_size=1000,
        )
        stored = [
            StoredEvent(s.channel, s.eid, s.type, s.data, s.skip_user_id, row.pk or 0)
            for s, row in zip(stored, rows, strict=True)
        ]
        by_value: dict[int, list[int]] = defaultdict(list)
        for name, value in next_id.items():
            if value != channels[name].last_id:
                by_value[value].append(channels[name].pk)
        for value, pks in by_value.items():
            StreamChannel.objects.filter(pk__in=pks).update(last_id=value)
    return stored


def current_ids(names: Iterable[str]) -> dict[str, int]:
    names = list(names)
    ids = dict.fromkeys(names, 0)
    ids.update(StreamChannel.objects.filter(name__in=names).values_list("name", "last_id"))
    return ids


def trim_events(*, older_than: dt.timedelta = RETENTION, batch: int = 5000) -> int:
    """Delete events past retention, in batches; remember per channel what was trimmed."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        rows = list(
            StreamEvent.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", "channel", "eid")[:batch]
        )
        if not rows:
            return deleted
        highest: dict[str, int] = {}
        for _, channel, eid in rows:
            highest[channel] = max(eid, highest.get(channel, 0))
        with transaction.atomic():
            for channel, eid in highest.items():
                StreamChannel.objects.filter(name=channel, trimmed_through__lt=eid).update(
                    trimmed_through=eid
                )
            StreamEvent.objects.filter(id__in=[r[0] for r in rows]).delete()
        deleted += len(rows)


class HarborEventStorage(StorageBase):  # type: ignore[misc]
    """django-eventstream's storage interface over StreamChannel and StreamEvent."""

    def append_event(self, channel: str, event_type: str, data: str) -> Event:
        return append_events([(channel, event_type, data, None)])[0].as_event()

    def get_events(self, channel: str, last_id: int, limit: int = 100) -> list[Event]:
        row = (
            StreamChannel.objects.filter(name=channel)
            .values_list("last_id", "trimmed_through")
            .first()
        )
        current, trimmed = row if row is not None else (0, 0)
        if last_id == current:
            return []
        if last_id > current or last_id < trimmed:
            # An id this channel never gave, or one whose events are gone: start afresh.
            raise EventDoesNotExist(f"No such event {last_id}", current)
        rows = StreamEvent.objects.filter(channel=channel, eid__gt=last_id).order_by("eid")[:limit]
        return [stream_event(channel, r.type, r.data, r.eid, r.skip_user_id, r.pk) for r in rows]

    def get_current_id(self, channel: str) -> int:
        return current_ids([channel])[channel]
