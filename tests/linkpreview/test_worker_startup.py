"""A Daphne process fetches the previews a previous run left pending, without a new send."""

from __future__ import annotations

import time

import pytest

from linkpreview.models import LinkPreview
from tests.live import DaphneServer

from .conftest import PageServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def test_pending_previews_are_fetched_when_the_server_starts(site: PageServer) -> None:
    url = site.page("/left-pending", "<html><head><title>Left pending</title></head></html>")
    row = LinkPreview.objects.create(normalized_url=url)
    assert row.status == LinkPreview.Status.PENDING
    env = {
        "LINKPREVIEW_ALLOW_NETWORKS": "127.0.0.0/8",
        "LINKPREVIEW_PORTS": f"80,443,{site.port}",
        "LINKPREVIEW_WORKER": "thread",
    }
    with DaphneServer(env=env):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            row.refresh_from_db()
            if row.status != LinkPreview.Status.PENDING:
                break
            time.sleep(0.2)
    assert row.status == LinkPreview.Status.READY, (row.status, row.error)
    assert row.title == "Left pending"
