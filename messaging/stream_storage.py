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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django_eventstream.event import Event
from django_eventstream.storage import EventDoesNotExist, StorageBase

from harbor_messaging import sql

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


def _take_ids(counts: dict[str, int]) -> dict[str, int]:
    """Add ``counts`` to the channels' counters, creating missing ones; their new last ids.

    One upsert per batch: the row of an existing channel is locked and bumped, a new one
    inserted, in the same statement. Names go in sorted and the rows of a VALUES list are
    taken in order, so two senders lock shared channels in the same order and never
    deadlock; a sender that meets another's uncommitted row waits for it and then bumps
    what it committed, so ids stay gapless and commit in order within a channel.
    """
    head, rows, tail = _counters_upsert(counts)
    return dict(sql.insert_rows(head, rows, tail=tail))


def _counters_upsert(counts: dict[str, int]) -> tuple[str, list[tuple[str, int, int]], str]:
    """The counters' upsert, as ``sql.insert_rows`` takes it: head, rows by name, tail."""
    table = connection.ops.quote_name(StreamChannel._meta.db_table)
    return (
        f"{table} (name, last_id, trimmed_through)",
        [(name, counts[name], 0) for name in sorted(counts)],
        f"ON CONFLICT (name) DO UPDATE SET last_id = {table}.last_id + excluded.last_id "
        "RETURNING name, last_id",
    )


def _insert_events(stored: list[StoredEvent]) -> dict[tuple[str, int], int]:
    """The events' rows, in multi-row INSERTs in the order given; their row ids."""
    table = connection.ops.quote_name(StreamEvent._meta.db_table)
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    returned = sql.insert_rows(
        f"{table} (channel, eid, type, data, skip_user_id, created_at)",
        [(s.channel, s.eid, s.type, s.data, s.skip_user_id, created) for s in stored],
        tail="RETURNING channel, eid, id",
    )
    return {(channel, eid): pk for channel, eid, pk in returned}


def _append_in_one_statement(
    items: list[tuple[str, str, str, int | None]],
    counts: dict[str, int],
    writes: Sequence[sql.Write] = (),
) -> list[StoredEvent]:
    """PostgreSQL: the counters' upsert and the events' insert as one statement (a
    data-modifying WITH), one round trip of a send's fewer (each is ~0.4 ms here); with
    ``writes`` (the change the events are of) ahead of them in the same statement.

    The upsert of ``_take_ids`` (names sorted: the lock order); each event's id is
    its channel's new last id less how many of the channel's events follow it in ``items``.
    """
    events = connection.ops.quote_name(StreamEvent._meta.db_table)
    seen: dict[str, int] = defaultdict(int)
    rows = []
    for order, (channel, event_type, data, skip_user_id) in enumerate(items):
        seen[channel] += 1
        rows.append(
            (order, channel, seen[channel] - counts[channel], event_type, data, skip_user_id)
        )
    head, counters, tail = _counters_upsert(counts)
    counter_values, params = sql.values_list(counters)
    values, item_params = sql.values_list(
        rows, "(%s::int, %s::text, %s::bigint, %s::text, %s::text, %s::bigint)"
    )
    query = (
        f"WITH taken AS (INSERT INTO {head} VALUES {counter_values} {tail}), "
        f"item (ord, channel, back, type, data, skip_user_id) AS (VALUES {values}) "
        f"INSERT INTO {events} (channel, eid, type, data, skip_user_id, created_at) "
        "SELECT item.channel, taken.last_id + item.back, item.type, item.data, "
        "item.skip_user_id, %s FROM item JOIN taken ON taken.name = item.channel "
        "ORDER BY item.ord RETURNING channel, eid, id"
    )
    params += [*item_params, timezone.now()]
    statement = sql.with_writes(writes, query, params)
    returned = sql.fetch(statement.sql, statement.params)
    seqs = {(channel, eid): pk for channel, eid, pk in returned}
    # A channel's events took the run of ids that ends at its new last id, in order.
    last: dict[str, int] = {}
    for channel, eid, _ in returned:
        last[channel] = max(eid, last.get(channel, eid))
    out = []
    for _, channel, back, event_type, data, skip_user_id in rows:
        eid = last[channel] + back
        out.append(StoredEvent(channel, eid, event_type, data, skip_user_id, seqs[(channel, eid)]))
    return out


def append_events(
    items: list[tuple[str, str, str, int | None]], *, writes: Sequence[sql.Write] = ()
) -> list[StoredEvent]:
    """Store (channel, type, data, skip_user_id) items in order; returns them with ids.

    Two statements however many channels: the counters' upsert, then the events (on
    PostgreSQL one, below). Inside a send's transaction no savepoint is taken: a failure
    here fails the whole send, whose transaction rolls the counters back with everything
    else. ``writes``, the change the events are of, go first: on PostgreSQL in the same
    statement, so that change and events are one round trip and, with no transaction
    open, one transaction of their own; elsewhere in one transaction with them.
    """
    if not items and not writes:
        return []
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item[0]] += 1
    if items and connection.vendor == "postgresql" and len(items) <= sql.BATCH:
        return _append_in_one_statement(items, counts, writes)
    with transaction.atomic(savepoint=False):
        sql.run_writes(writes)
        if not items:
            return []
        last_ids = _take_ids(counts)
        # A channel's items take the ids up to its new last id, in the order given.
        next_id = {name: last_ids[name] - n for name, n in counts.items()}
        stored: list[StoredEvent] = []
        for channel, event_type, data, skip_user_id in items:
            next_id[channel] += 1
            stored.append(StoredEvent(channel, next_id[channel], event_type, data, skip_user_id))
        seqs = _insert_events(stored)
    return [
        StoredEvent(s.channel, s.eid, s.type, s.data, s.skip_user_id, seqs[(s.channel, s.eid)])
        for s in stored
    ]


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
            # In name order, as senders lock them, so a trim and a send never deadlock.
            for channel, eid in sorted(highest.items()):
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
