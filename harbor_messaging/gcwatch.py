"""When the cyclic garbage collector may stop the server, and how long it did.

Every open stream keeps a few hundred tracked objects (its task and coroutines, the
listener, Twisted's request and connection) for as long as it is open. With 10,000 streams
Python's own schedule ran a full collection over all of them about every three seconds
while a broadcast was being written, each stopping the process for about a second
(measured here, docs/performance.md): Python schedules a full collection when the
objects promoted since the last one reach a quarter of the old generation, and the young
objects of a fan-out in flight are promoted in their tens of thousands.

``install(full_every)`` leaves Python's schedule as it is (request garbage is collected
as promptly as ever) but keeps the streams' objects out of it: once a burst of stream
opens has settled (``note_open``; at least every ``BURST_LONGEST_SECONDS`` while opens
go on; requests from a GRIP proxy count too), and every ``full_every`` seconds, it collects and then
freezes what is left (``gc.freeze``), so later collections scan only what came after.
A frozen object that becomes cyclic garbage (a closed stream's task, say) is freed at the
next ``full_every`` (``HARBOR_GC_FULL_SECONDS``, 600 by default; 0 turns the policy off),
which unfreezes everything first: one full pause per period instead of one every few
seconds. Young collections run every ``YOUNG_THRESHOLD`` allocations rather than 700, so
a fan-out's short-lived objects are mostly freed before a collection can promote them.

The figures per generation are in ``GET /api/ops/streams``; a pause past ``SLOW_SECONDS``
is logged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("harbor_messaging.gc")

SLOW_SECONDS = 0.05


class _Watch:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = 0.0
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.max_seconds = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        took = time.perf_counter() - self.started
        generation = int(info.get("generation", 0))
        with self.lock:
            self.collections[generation] += 1
            self.seconds[generation] += took
            self.max_seconds[generation] = max(self.max_seconds[generation], took)
        if took >= SLOW_SECONDS:
            logger.warning(
                "garbage collection of generation %d took %.0f ms", generation, took * 1000
            )

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "collections": list(self.collections),
                "totalMs": [round(s * 1000, 1) for s in self.seconds],
                "maxMs": [round(s * 1000, 1) for s in self.max_seconds],
                "frozen": gc.get_freeze_count(),
            }


_watch = _Watch()


_timer: threading.Thread | None = None
YOUNG_THRESHOLD = 50_000

# Streams opened since the last freeze, and when the last one opened.
BURST_OPENS = 500
BURST_QUIET_SECONDS = 2.0
# Opens that never pause (Pushpin re-fetching streams at its own pace) still get a
# collection this often, so their garbage cannot pile up behind a burst that never ends.
BURST_LONGEST_SECONDS = 10.0
_opens = 0
_last_open = 0.0


def note_open() -> None:
    """A stream opened, or a GRIP proxy asked for one (a plain counter: an increment lost
    between two threads now and then changes nothing)."""
    global _opens, _last_open
    _opens += 1
    _last_open = time.monotonic()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


_trim = _malloc_trim()


def _collect_and_freeze(*, unfreeze: bool) -> None:
    if unfreeze:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    if _trim is not None:
        # What a burst of opens freed stays in the C heap unless it is handed back: 1.5-4 KB
        # a stream of resident memory (docs/performance.md). ctypes lets go of the GIL.
        _trim(0)


def _policy(every: float) -> None:
    global _opens
    last = last_burst = time.monotonic()
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        if now - last >= every:
            _opens = 0
            _collect_and_freeze(unfreeze=True)
            last = last_burst = time.monotonic()
        elif _opens >= BURST_OPENS and (
            now - _last_open >= BURST_QUIET_SECONDS or now - last_burst >= BURST_LONGEST_SECONDS
        ):
            _opens = 0
            _collect_and_freeze(unfreeze=False)
            last_burst = time.monotonic()


def install(full_every: float = 0) -> None:
    global _timer
    if _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
    if full_every > 0 and _timer is None:
        # Young collections every 50,000 net allocations instead of 700: a fan-out to
        # thousands of streams makes its objects by the hundred thousand and frees them
        # within milliseconds, and every young collection in between promoted the ones in
        # flight, which is what made full collections due.
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        _timer = threading.Thread(target=_policy, args=(full_every,), name="gc", daemon=True)
        _timer.start()


def stats() -> dict[str, Any]:
    return _watch.stats()
