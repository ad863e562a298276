"""When the cyclic garbage collector may stop the server, and how long it did.

Every open stream keeps a few hundred tracked objects (its task and coroutines, the
listener, Twisted's request and connection) for as long as it is open. With 10,000 streams
Python's own schedule ran a full collection over all of them about every three seconds
while a broadcast was being written, each stopping the process for about a second
(measured here, docs/performance.md). ``install(full_every)`` keeps the young collections
as they are but takes full collections off the allocation counter: one runs every
``full_every`` seconds instead (``HARBOR_GC_FULL_SECONDS``, 600 by default; 0 leaves
Python's schedule alone). Cyclic garbage that outlives two young collections waits up to
that long to be freed, or until a burst of stream opens has settled (``note_open``).

The figures per generation are in ``GET /api/ops/streams``; a pause past ``SLOW_SECONDS``
is logged.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
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


# Past any count of young collections a process reaches: no automatic full collection.
NEVER = 2**31 - 1
_timer: threading.Thread | None = None


# Opening a stream leaves cyclic garbage behind (its authentication's request, session
# and user objects); after a burst of opens (a deploy, a reconnect storm) a full collection
# frees it once the burst has settled, rather than up to ``full_every`` later.
BURST_OPENS = 500
BURST_QUIET_SECONDS = 2.0
_opens = 0
_last_open = 0.0


def note_open() -> None:
    """A stream opened (called on the event loop; a plain counter, no lock needed)."""
    global _opens, _last_open
    _opens += 1
    _last_open = time.monotonic()


def _full_collections(every: float) -> None:
    global _opens
    last = time.monotonic()
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        burst = _opens >= BURST_OPENS and now - _last_open >= BURST_QUIET_SECONDS
        if burst or now - last >= every:
            _opens = 0
            gc.collect()
            last = time.monotonic()


def install(full_every: float = 0) -> None:
    global _timer
    if _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
    if full_every > 0 and _timer is None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        _timer = threading.Thread(
            target=_full_collections, args=(full_every,), name="gc-full", daemon=True
        )
        _timer.start()


def stats() -> dict[str, Any]:
    return _watch.stats()
