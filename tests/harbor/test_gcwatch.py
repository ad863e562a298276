"""The server's collect-and-freeze: what it leaves frozen, and the C heap handed back."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from harbor_messaging import gcwatch


class _Node:
    other: _Node


def _collected_ids() -> set[int]:
    """The objects the collector goes through (the frozen ones are not among them)."""
    return {id(o) for o in gc.get_objects()}


def test_collect_and_freeze_freezes_what_survives() -> None:
    kept = [[i] for i in range(1000)]
    try:
        gcwatch._collect_and_freeze(unfreeze=True)
        assert gc.get_freeze_count() >= len(kept)
        collected = _collected_ids()
        assert not any(id(k) in collected for k in kept)
        made_since = [[i] for i in range(1000)]
        gcwatch._collect_and_freeze(unfreeze=False)
        # A burst's freeze adds what was made since and thaws nothing. (Not the frozen
        # count: any thread freeing a frozen object meanwhile lowers it.)
        collected = _collected_ids()
        assert not any(id(k) in collected for k in kept + made_since)
        # A cycle that became garbage while frozen stays until a full thaw collects it.
        cycle = _Node()
        cycle.other = _Node()
        cycle.other.other = cycle
        gone = weakref.ref(cycle)
        gcwatch._collect_and_freeze(unfreeze=False)
        del cycle
        gcwatch._collect_and_freeze(unfreeze=False)
        assert gone() is not None
        gcwatch._collect_and_freeze(unfreeze=True)
        assert gone() is None
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(sys.platform != "linux", reason="glibc only")
def test_malloc_trim_is_callable() -> None:
    assert gcwatch._trim is not None  # glibc: what a burst freed goes back to the system
    assert gcwatch._trim(0) in (0, 1)
