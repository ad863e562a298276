"""Workers started together in threads, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_together(workers: list[Callable[[], Any]], *, timeout: float = 60) -> list[BaseException]:
    """Run every worker in a thread of its own, all released at once; what they raised.

    A worker still running after ``timeout`` seconds counts as an error too.
    """
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(work: Callable[[], Any]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # collected for the test to assert on
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    errors += [TimeoutError("a worker never finished") for t in threads if t.is_alive()]
    return errors
