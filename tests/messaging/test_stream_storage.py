"""The event store: channels made on first use, ids gapless and in commit order per channel,
nothing stored for a change that did not commit, even with senders racing on PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from messaging.models import StreamChannel, StreamEvent
from messaging.stream_storage import HarborEventStorage, append_events
from tests import factories
from tests.threads import run_together


def _eids_by_row_order(channel: str) -> list[int]:
    return list(
        StreamEvent.objects.filter(channel=channel).order_by("id").values_list("eid", flat=True)
    )


@pytest.mark.django_db
def test_a_new_channel_is_made_by_its_first_event() -> None:
    assert not StreamChannel.objects.filter(name="u-1-new").exists()
    [stored] = append_events([("u-1-new", "message:new", "{}", None)])
    channel = StreamChannel.objects.get(name="u-1-new")
    assert (channel.last_id, channel.trimmed_through) == (1, 0)
    assert (stored.channel, stored.eid) == ("u-1-new", 1)
    assert stored.seq == StreamEvent.objects.get(channel="u-1-new", eid=1).pk


@pytest.mark.django_db
def test_one_call_numbers_each_channels_events_in_the_order_given() -> None:
    append_events([("b", "message:new", "b1", None)])
    stored = append_events(
        [
            ("b", "message:new", "b2", None),
            ("a", "message:new", "a1", 7),
            ("b", "message:read", "b3", None),
            ("c", "message:new", "c1", None),
        ]
    )
    assert [(s.channel, s.eid, s.data) for s in stored] == [
        ("b", 2, "b2"),
        ("a", 1, "a1"),
        ("b", 3, "b3"),
        ("c", 1, "c1"),
    ]
    assert stored[1].skip_user_id == 7
    # seq is the row's id: the order they were stored in, across channels.
    rows = {(r.channel, r.eid): r.pk for r in StreamEvent.objects.all()}
    assert [s.seq for s in stored] == [rows[(s.channel, s.eid)] for s in stored]
    assert [s.seq for s in stored] == sorted(s.seq for s in stored)
    assert dict(StreamChannel.objects.values_list("name", "last_id")) == {"a": 1, "b": 3, "c": 1}
    events = HarborEventStorage().get_events("b", 1)
    assert [(e.id, e.data) for e in events] == [(2, "b2"), (3, "b3")]


@pytest.mark.django_db
def test_a_rolled_back_send_leaves_no_events_and_no_counter_change(
    world: dict[str, Any],
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    factories.send(ann, acme, [bo, cy])
    counters = dict(StreamChannel.objects.values_list("name", "last_id"))
    events = StreamEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.send(bo, acme, [ann, cy])
        raise RuntimeError("the send fails after its events were stored")
    assert dict(StreamChannel.objects.values_list("name", "last_id")) == counters
    assert StreamEvent.objects.count() == events


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_failed_store_takes_no_ids() -> None:
    append_events([("u-2-acme", "message:new", "{}", None)])
    # Rows already holding the next ids (as a botched restore might leave them): the
    # events' insert fails on (channel, eid) after the counters were taken, in the same
    # statement on PostgreSQL and in the next one on SQLite.
    StreamEvent.objects.create(channel="u-2-acme", eid=2, type="x", data="{}")
    StreamEvent.objects.create(channel="u-3-acme", eid=1, type="x", data="{}")
    with pytest.raises(DatabaseError):
        HarborEventStorage().append_event("u-2-acme", "message:new", "{}")
    with pytest.raises(DatabaseError):
        append_events([("u-3-acme", "message:new", "{}", None)])
    assert dict(StreamChannel.objects.values_list("name", "last_id")) == {"u-2-acme": 1}
    StreamEvent.objects.filter(type="x").delete()
    assert HarborEventStorage().append_event("u-2-acme", "message:new", "{}").id == 2


class Reader(threading.Thread):
    """Reads a channel while it is written, as a reconnecting stream does: each time from
    the last id it was given, until told to stop (and once more after that)."""

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel
        self.stop = threading.Event()
        self.seen: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        storage = HarborEventStorage()
        try:
            while True:
                done = self.stop.is_set()
                last = self.seen[-1] if self.seen else 0
                self.seen += [int(e.id) for e in storage.get_events(self.channel, last, 1000)]
                if done:
                    return
        except BaseException as exc:  # asserted on by the test
            self.error = exc
        finally:
            connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_racing_stores_on_shared_channels_give_gapless_ordered_ids_and_no_deadlock() -> None:
    # Six senders, each storing on three of five channels at a time (in any order, the
    # channels new at first), holding the transaction open a moment so they queue on rows.
    names = [f"u-{i}-race" for i in range(5)]
    per_sender = 40

    def sender(index: int) -> Any:
        rng = random.Random(index)

        def send() -> None:
            for _ in range(per_sender):
                picked = rng.sample(names, 3)
                with transaction.atomic():
                    append_events([(name, "message:new", f"{index}", None) for name in picked])
                    time.sleep(rng.random() / 500)

        return send

    reader = Reader(names[0])
    reader.start()
    # A deadlock would surface as an error of one of the senders (PostgreSQL breaks it).
    assert run_together([sender(i) for i in range(6)], timeout=120) == []
    reader.stop.set()
    reader.join(timeout=60)
    total = 0
    for name in names:
        last_id = StreamChannel.objects.get(name=name).last_id
        # Gapless, and in row order the order the ids were given: each id was stored
        # under the channel's lock, so no later id committed before an earlier one.
        assert _eids_by_row_order(name) == list(range(1, last_id + 1))
        total += last_id
    assert total == 6 * per_sender * 3
    # What a stream read while they raced: every id once, in order, none skipped.
    assert reader.error is None
    assert reader.seen == list(range(1, StreamChannel.objects.get(name=names[0]).last_id + 1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_racing_sends_to_overlapping_recipients_keep_every_channel_gapless(
    world: dict[str, Any],
) -> None:
    acme, people = world["acme"], [world["ann"], world["bo"], world["cy"]]

    def sender(me: Any) -> Any:
        others = [p for p in people if p.pk != me.pk]
        return lambda: [factories.send(me, acme, others, body=f"race {i}") for i in range(15)]

    assert run_together([sender(p) for p in people], timeout=120) == []
    for person in people:
        name = f"u-{person.pk}-acme"
        # Each of the 45 sends is on its sender's channel and its two recipients'.
        assert _eids_by_row_order(name) == list(range(1, 46))
