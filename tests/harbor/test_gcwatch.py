"""The server's collect-and-freeze: what it leaves frozen, and the C heap handed back."""

from __future__ import annotations

import gc
import sys

import pytest

from harbor_messaging import gcwatch


def test_collect_and_freeze_freezes_what_survives() -> None:
    kept = [[i] for i in range(1000)]
    try:
        gcwatch._collect_and_freeze(unfreeze=True)
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        gcwatch._collect_and_freeze(unfreeze=False)
        assert gc.get_freeze_count() >= frozen  # a burst's freeze adds, it never thaws
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(sys.platform != "linux", reason="glibc only")
def test_malloc_trim_is_callable() -> None:
    assert gcwatch._trim is not None  # glibc: what a burst freed goes back to the system
    assert gcwatch._trim(0) in (0, 1)
