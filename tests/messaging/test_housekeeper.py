"""The housekeeper's keep-alives: each waiting stream once a period, a tick its own slice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from messaging import stream
from messaging.listeners import ListenerManager
from messaging.stream import KEEP_ALIVE_BYTES, BodyWriter, Housekeeper, StreamListener


class _Writer(BodyWriter):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, body: bytes) -> bool:
        self.writes.append(body)
        return True


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> ListenerManager:
    manager = ListenerManager()
    monkeypatch.setattr(stream, "get_listener_manager", lambda: manager)
    return manager


def _open(manager: ListenerManager, keeper: Housekeeper, n: int) -> StreamListener:
    """A stream as event_stream opens it, waiting live on the running loop."""
    listener = StreamListener(n, {"t-acme", f"u-{n}"}, _Writer())
    listener.assign_loop()
    manager.add_listener(listener)
    keeper.join(listener)
    listener.wait_live({"t-acme": 0, f"u-{n}": 0})
    return listener


def _close(manager: ListenerManager, keeper: Housekeeper, listener: StreamListener) -> None:
    manager.remove_listener(listener)
    keeper.leave(listener)


def _count(listener: StreamListener) -> int:
    writes = listener.writer.writes  # type: ignore[union-attr]
    assert set(writes) <= {KEEP_ALIVE_BYTES}
    return len(writes)


def test_each_waiting_stream_gets_one_keep_alive_a_period(manager: ListenerManager) -> None:
    keeper = Housekeeper()
    slices = 5

    async def run() -> dict[str, Any]:
        early = [_open(manager, keeper, n) for n in range(23)]
        first = keeper.keep_alive(1, slices)  # the first tick files the streams open so far
        late = [_open(manager, keeper, 100 + n) for n in range(7)]  # filed as they open
        for listener in early:
            listener.writer.writes.clear()  # type: ignore[union-attr]
        gone = early[:3]
        for listener in gone:
            _close(manager, keeper, listener)
        busy = early[3]
        busy.live_ids = None  # its task is writing: no keep-alive needed
        written = [keeper.keep_alive(tick, slices) for tick in range(2, 2 + slices)]
        return {"early": early, "late": late, "first": first, "written": written}

    seen = asyncio.run(run())
    early, late = seen["early"], seen["late"]
    assert seen["first"] == sum(1 for s in early if s.phase % slices == 1)
    # Ticks 2..6 are a whole period: every waiting stream exactly once, the others never.
    assert [_count(s) for s in early[4:] + late] == [1] * (len(early) - 4 + len(late))
    assert [_count(s) for s in early[:4]] == [0] * 4
    assert sum(seen["written"]) == len(early) - 4 + len(late)
    assert keeper.keep_alives == seen["first"] + sum(seen["written"])


def test_a_new_period_files_the_streams_again(manager: ListenerManager) -> None:
    keeper = Housekeeper()

    async def run() -> list[StreamListener]:
        opened = [_open(manager, keeper, n) for n in range(12)]
        for tick in range(1, 4):
            keeper.keep_alive(tick, 3)
        for listener in opened:
            listener.writer.writes.clear()  # type: ignore[union-attr]
        # The period changed (the setting): four slices now, every stream still once.
        for tick in range(1, 5):
            keeper.keep_alive(tick, 4)
        return opened

    opened = asyncio.run(run())
    assert [_count(s) for s in opened] == [1] * len(opened)


def test_another_loops_streams_are_left_to_its_own_tick(manager: ListenerManager) -> None:
    keeper = Housekeeper()
    other = asyncio.new_event_loop()
    try:
        elsewhere = StreamListener(7, {"t-acme", "u-7"}, _Writer())
        elsewhere.loop = other
        manager.add_listener(elsewhere)
        elsewhere.wait_live({"t-acme": 0, "u-7": 0})

        async def run() -> StreamListener:
            here = _open(manager, keeper, 8)
            keeper.keep_alive(1, 1)
            return here

        here = asyncio.run(run())
        assert (_count(here), _count(elsewhere)) == (1, 0)
    finally:
        other.close()
