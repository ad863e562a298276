"""Sends sharing links race each other and the worker (real row locks on PostgreSQL): no
deadlock, one cache row per URL, and no link left waiting for a preview that finished."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from django.db import connections

from linkpreview.models import LinkPreview, MessageLink
from linkpreview.worker import PreviewWorker
from tests import factories

from .conftest import PageServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_sends_and_the_worker_racing_leave_every_link_filled(
    world: dict[str, Any], pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    urls = [pages.page(f"/race{i}", f"<title>Race {i}</title>") for i in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(7)
    stop = threading.Event()

    def sender(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(6):
                shuffled = rng.sample(urls, len(urls))
                factories.send(world["bo"], world["acme"], [world["ann"]], body=" ".join(shuffled))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def worker() -> None:
        try:
            start.wait()
            while not stop.is_set():
                PreviewWorker(batch=1).run_once()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    senders = [threading.Thread(target=sender, args=(i,)) for i in range(6)]
    fetcher = threading.Thread(target=worker)
    for thread in [*senders, fetcher]:
        thread.start()
    for thread in senders:
        thread.join(timeout=120)
    stop.set()
    fetcher.join(timeout=60)
    assert errors == []
    PreviewWorker().drain()
    assert LinkPreview.objects.count() == 4
    assert MessageLink.objects.count() == 6 * 6 * 4
    assert set(MessageLink.objects.values_list("status", flat=True)) == {"ready"}
    assert sorted(set(pages.hits)) == sorted(f"/race{i}" for i in range(4))
