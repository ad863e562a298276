"""The preview worker: drains the queue of pending previews (the LinkPreview table).

By default each server process runs it in background threads, started the first time a
write asks for a fetch (``wake()``, called on commit), so the embedded set-up needs nothing
else. In production it can run as its own process: ``manage.py linkpreview_worker`` with
``LINKPREVIEW_WORKER=off`` for the servers. Any number of workers share one queue: a row
is claimed by one conditional UPDATE (actions.claim_previews), never by two.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

IDLE_SECONDS = 5.0
THREADS = 2

_lock = threading.Lock()
_threads: list[threading.Thread] = []
_wake = threading.Event()
_stop = threading.Event()


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PreviewWorker:
    """Claims pending previews a few at a time, fetches each, records the outcome."""

    def __init__(self, *, worker_id: str | None = None, batch: int = 2) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.batch = batch

    def run_once(self) -> int:
        """One batch: the number of previews this worker finished."""
        from .actions import MAX_ATTEMPTS, claim_previews, do_finish_preview, do_give_up
        from .fetching import PreviewOutcome, fetch_preview

        done = 0
        for preview in claim_previews(worker_id=self.worker_id, limit=self.batch):
            if preview.attempts > MAX_ATTEMPTS:
                do_give_up(preview=preview, worker_id=self.worker_id)
                continue
            try:
                outcome = fetch_preview(preview.normalized_url)
            except Exception:
                # A page that trips a parser bug fails like any other, for a while.
                logger.exception("link preview of %s failed", preview.normalized_url)
                outcome = PreviewOutcome(ok=False, error="internal")
            do_finish_preview(preview_id=preview.pk, worker_id=self.worker_id, outcome=outcome)
            done += 1
        return done

    def drain(self) -> int:
        """Batches until the queue has nothing this worker may claim."""
        total = 0
        while True:
            done = self.run_once()
            if not done:
                return total
            total += done

    def run_forever(self, *, stop: threading.Event, wake: threading.Event | None = None) -> None:
        while not stop.is_set():
            try:
                close_old_connections()
                busy = self.run_once()
            except Exception:
                logger.exception("link preview worker %s failed a batch", self.worker_id)
                busy = 0
            if busy:
                continue
            if wake is not None:
                wake.wait(IDLE_SECONDS)
                wake.clear()
            else:
                stop.wait(IDLE_SECONDS)
        connection.close()


def _run_thread() -> None:
    PreviewWorker().run_forever(stop=_stop, wake=_wake)


def ensure_started() -> None:
    """Start this process's worker threads, once."""
    with _lock:
        alive = [t for t in _threads if t.is_alive()]
        if len(alive) >= THREADS:
            return
        _threads[:] = alive
        _stop.clear()
        for index in range(THREADS - len(alive)):
            thread = threading.Thread(
                target=_run_thread, name=f"linkpreview-worker-{index}", daemon=True
            )
            thread.start()
            _threads.append(thread)


def wake() -> None:
    """Tell this process's worker that pending previews wait (it starts it if need be)."""
    if not settings.LINKPREVIEW_ENABLED or settings.LINKPREVIEW_WORKER != "thread":
        return
    ensure_started()
    _wake.set()


def stop_threads(timeout: float = 5.0) -> None:
    """Stop this process's worker threads (tests, and a clean shutdown)."""
    _stop.set()
    _wake.set()
    with _lock:
        threads = list(_threads)
        _threads.clear()
    for thread in threads:
        thread.join(timeout)
