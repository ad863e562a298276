"""Live events written straight to a waiting stream's connection (StreamListener.write_now),
and everything that must go through the stream's task instead."""

from __future__ import annotations

from typing import Any

import pytest
from django_eventstream.utils import make_id

from harbor_messaging.tenants.actions import do_create_global_admin
from messaging.stream import BodyWriter, StreamListener
from messaging.stream_storage import stream_event
from tests import factories
from tests.live import DaphneServer, login, send_message
from tests.sse import SSEStream

T, U = "t-acme", "u-7-acme"


class Recorder(BodyWriter):
    def __init__(self, writes: list[bytes], accept: bool) -> None:
        self.writes = writes
        self.accept = accept

    def write(self, body: bytes) -> bool:
        self.writes.append(body)
        return self.accept


def _listener(writes: list[bytes], *, accept: bool = True) -> StreamListener:
    listener = StreamListener(7, {T, U}, Recorder(writes, accept))
    listener.live_ids = {T: "4", U: "9"}
    return listener


def _event(channel: str, eid: int, *, skip: int | None = None, data: str = '{"a": 1}') -> Any:
    return stream_event(channel, "message:new", data, eid, skip, eid)


def test_the_next_event_is_written_as_sse_with_the_streams_id() -> None:
    writes: list[bytes] = []
    listener = _listener(writes)
    assert listener.write_now(T, _event(T, 5, data="line one\nline two"))
    assert listener.live_ids == {T: 5, U: "9"}
    expected_id = make_id({T: 5, U: "9"})
    assert writes == [
        f"event: message:new\nid: {expected_id}\ndata: line one\ndata: line two\n\n".encode()
    ]


def test_the_id_follows_every_channel_as_events_interleave() -> None:
    # The id's other channels are kept formatted between writes (write_framed): each write
    # must still carry every channel's position, also after the task moved one itself.
    writes: list[bytes] = []
    listener = _listener(writes)
    expected = []
    for channel, eid in [(T, 5), (T, 6), (U, 10), (T, 7), (U, 11), (U, 12), (T, 8)]:
        assert listener.write_now(channel, _event(channel, eid))
        expected.append(make_id(dict(listener.live_ids or {})))
    ids = dict(listener.live_ids or {})
    listener.live_ids = None  # the task takes over, reads U's 13 from storage, waits again
    ids[U] = "13"
    listener.wait_live(ids)
    assert listener.write_now(T, _event(T, 9))
    expected.append(make_id({T: 9, U: "13"}))
    assert [w.split(b"\n")[1].decode() for w in writes] == [f"id: {e}" for e in expected]
    assert expected[-2:] == [make_id({T: 8, U: 12}), make_id({T: 9, U: "13"})]


def test_already_sent_is_dropped_and_a_gap_goes_to_the_task() -> None:
    writes: list[bytes] = []
    listener = _listener(writes)
    assert listener.write_now(T, _event(T, 4))  # already sent: nothing written
    assert not listener.write_now(T, _event(T, 6))  # 5 is missing: the task reads storage
    assert writes == []
    assert listener.live_ids == {T: "4", U: "9"}


def test_an_event_skipping_this_user_moves_the_position_without_a_write() -> None:
    writes: list[bytes] = []
    listener = _listener(writes)
    assert listener.write_now(T, _event(T, 5, skip=7))
    assert writes == []
    assert listener.live_ids == {T: 5, U: "9"}


@pytest.mark.parametrize("state", ["busy", "queued", "overflow", "error", "no-writer"])
def test_anything_but_a_waiting_stream_goes_to_the_task(state: str) -> None:
    writes: list[bytes] = []
    listener = _listener(writes)
    if state == "busy":
        listener.live_ids = None  # the task is reading storage or writing
    elif state == "queued":
        listener.channel_items = {U: [_event(U, 10)]}  # order: behind what is queued
    elif state == "overflow":
        listener.overflow = True
    elif state == "error":
        listener.error = {"condition": "forbidden", "text": "gone"}
    else:
        listener.writer = None
    assert not listener.write_now(T, _event(T, 5))
    assert writes == []


def test_a_connection_that_is_gone_keeps_the_position() -> None:
    writes: list[bytes] = []
    listener = _listener(writes, accept=False)
    assert not listener.write_now(T, _event(T, 5))
    assert listener.live_ids == {T: "4", U: "9"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_live_events_go_straight_out_in_order(world: dict[str, Any], live_daphne: Any) -> None:
    do_create_global_admin(username="fastops", password=factories.PASSWORD)
    ops = login(live_daphne.url, "fastops", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    before = ops.get("/api/ops/streams").json()["liveDeliveries"]
    with SSEStream(ann, "/api/messaging/stream/acme/") as stream:
        sent = [send_message(bo, "acme", [world["ann"].pk], "x", f"n{n}") for n in range(5)]
        got = stream.take(5)
        assert [e.data["data"]["messageId"] for e in got] == sent
        assert [e.data["data"]["payload"]["unreadCount"] for e in got] == [1, 2, 3, 4, 5]
        # Each id is the stream's position; a reconnect from the last one replays nothing.
        last = got[-1].id
        positions = dict(part.split(":") for part in last.split(","))
        assert set(positions) == {"t-acme", f"u-{world['ann'].pk}-acme"}
        assert all(value.isdigit() for value in positions.values())
    after = ops.get("/api/ops/streams").json()["liveDeliveries"]
    assert after["written"] >= before["written"] + 5
    with SSEStream(ann, "/api/messaging/stream/acme/", last_event_id=last) as resumed:
        assert resumed.quiet(0.5) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_a_fan_out_sent_beside_the_event_loop_reaches_every_stream_in_order(
    world: dict[str, Any],
) -> None:
    """With sender threads taking every fan-out (harbor_messaging/twisted_write.py), each
    stream still gets each event once, in order, with its own position."""
    do_create_global_admin(username="sideops", password=factories.PASSWORD)
    env = {"HARBOR_STREAM_SEND_THREADS": "2", "HARBOR_STREAM_SEND_THREADS_FROM": "1"}
    with DaphneServer(env=env) as server:
        ops = login(server.url, "sideops", factories.PASSWORD)
        ann = login(server.url, "ann", factories.PASSWORD)
        bo = login(server.url, "bo", factories.PASSWORD)
        cy = login(server.url, "cy", factories.PASSWORD)
        path = "/api/messaging/stream/acme/"
        with SSEStream(bo, path) as bo_1, SSEStream(bo, path) as bo_2, SSEStream(cy, path) as cy_1:
            sent = [send_message(ann, "acme", "all", f"to all {n}") for n in range(4)]
            sent.append(send_message(ann, "acme", [world["bo"].pk], "to bo"))
            sent.append(send_message(ann, "acme", "all", "to all again"))
            for stream, expected in ((bo_1, sent), (bo_2, sent), (cy_1, sent[:4] + sent[5:])):
                got = stream.take(len(expected))
                assert [e.event for e in got] == ["message:new"] * len(expected)
                assert [e.data["data"]["messageId"] for e in got] == expected
                assert len({e.id for e in got}) == len(expected)
                assert stream.quiet(0.3) == []
        deliveries = ops.get("/api/ops/streams").json()["liveDeliveries"]
        assert deliveries["sentBeside"] > 0
        assert deliveries["queued"] == 0
