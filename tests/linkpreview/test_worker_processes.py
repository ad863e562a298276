"""Two worker processes (manage.py linkpreview_worker) draining one queue on the test
database: every URL is fetched exactly once, and every link is filled."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from linkpreview.models import LinkPreview, MessageLink
from tests import factories
from tests.live import ROOT, DaphneServer

from .conftest import PageServer

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_two_worker_processes_never_fetch_the_same_url_twice(
    world: dict[str, Any], pages: PageServer, open_loopback: Any
) -> None:
    open_loopback()
    urls = [pages.page(f"/q{i}", f"<title>Page {i}</title>", delay=0.2) for i in range(16)]
    for start in (0, 8):
        factories.send(
            world["bo"], world["acme"], [world["ann"]], body=" ".join(urls[start : start + 8])
        )
    assert LinkPreview.objects.filter(status="pending").count() == 16
    env = DaphneServer(
        env={
            "LINKPREVIEW_ALLOW_NETWORKS": "127.0.0.0/8",
            "LINKPREVIEW_PORTS": f"80,443,{pages.port}",
        }
    ).environment()
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "linkpreview_worker", "--once", "--batch", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    done = [int(out.rsplit("previews: ", 1)[1].split()[0]) for out in outputs]
    assert sum(done) == 16, outputs
    assert sorted(pages.hits) == sorted(f"/q{i}" for i in range(16))
    assert set(MessageLink.objects.values_list("status", flat=True)) == {"ready"}
