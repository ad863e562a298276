"""Attachments cost the message list one query for the whole page, and none when no message
on the page has any (tests/messaging/test_queries.py holds the lists without attachments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attachments import actions
from harbor_messaging.media.models import MediaFile
from tests import factories

pytestmark = pytest.mark.django_db


def _attach(message: Any, owner: Any, n: int) -> None:
    rows = MediaFile.objects.bulk_create(
        [
            MediaFile(
                tenant=message.tenant,
                owner=owner,
                origin="media_library",
                file=f"library/x/{message.pk}-{i}.png",
                thumbnail=f"thumbnails/x/{message.pk}-{i}.webp" if i % 2 else "",
                name=f"{i}.png",
                size=10,
                content_type="image/png",
                checksum="0" * 64,
                scan_state="not_scanned",
            )
            for i in range(n)
        ]
    )
    actions.do_attach_files(
        message=message, files=[actions.FileToAttach(f, "media_library") for f in rows]
    )


def _count(client: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/messaging/messages", {"tenantId": "acme"})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_the_inbox_costs_one_query_more_with_attachments_whatever_their_number(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann, bo, acme = world["ann"], world["bo"], world["acme"]
    client = api(ann)
    for i in range(5):
        factories.send(bo, acme, [ann], subject=f"plain {i}")
    without, _ = _count(client)
    for i in range(5):
        _attach(factories.send(bo, acme, [ann], subject=f"files {i}"), bo, 2)
    few, _ = _count(client)
    for i in range(40):
        _attach(factories.send(bo, acme, [ann], subject=f"more {i}"), bo, 3)
    many, page = _count(client)
    assert few == many == without + 1
    with_files = [m for m in page["results"] if m["hasAttachments"]]
    assert len(with_files) == 45
    assert all(len(m["attachments"]) == m["attachmentCount"] for m in page["results"])
    thumbs = [a["thumbnailUrl"] for m in with_files for a in m["attachments"]]
    assert None in thumbs and any(t for t in thumbs)
