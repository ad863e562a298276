"""manage.py cleanup --uploads: desktop uploads never attached, past the grace period, go from
storage and the database; attached ones, library files and recent uploads stay."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from harbor_messaging.media.models import MediaFile

from . import files
from .conftest import stored, upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_cleanup_uploads_removes_only_old_never_attached_uploads(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])
    ids = {
        name: row["uploadId"]
        for name, row in zip(
            ["orphan", "attached", "library", "recent"],
            upload(
                ann,
                [
                    ("orphan.png", files.png()),
                    ("attached.txt", b"a\n"),
                    ("library.txt", b"l\n"),
                    ("recent.txt", b"r\n"),
                ],
                tenantId="acme",
            ).json()["uploads"],
            strict=True,
        )
    }
    sent = ann.post(
        "/api/messaging/send",
        {
            "tenantId": "acme",
            "recipientIds": [world["bo"].pk],
            "attachmentUploadIds": [ids["attached"]],
        },
    )
    assert sent.status_code == 201
    # Attached once, then removed again: it was attached, so it is kept.
    ann.delete(f"/api/messaging/attachments/{sent.json()['attachments'][0]['id']}")
    MediaFile.objects.filter(pk=ids["library"]).update(origin="media_library")
    old = timezone.now() - dt.timedelta(hours=30)
    MediaFile.objects.exclude(pk=ids["recent"]).update(created_at=old)
    orphan = MediaFile.objects.get(pk=ids["orphan"])
    orphan_keys = {orphan.file.name, orphan.thumbnail.name}
    assert orphan_keys <= set(stored(storage_dir))

    out = StringIO()
    call_command("cleanup", "--uploads", stdout=out)
    assert "uploads: removed 1 never attached after 24 h" in out.getvalue()
    assert "events:" not in out.getvalue()
    assert set(MediaFile.objects.values_list("pk", flat=True)) == {
        ids["attached"],
        ids["library"],
        ids["recent"],
    }
    assert not orphan_keys & set(stored(storage_dir))
    assert len(stored(storage_dir)) == 3

    # With no flag it does everything, uploads too; a shorter grace takes the recent one.
    out = StringIO()
    call_command("cleanup", "--upload-hours", "0", stdout=out)
    assert "events: trimmed" in out.getvalue()
    assert "uploads: removed 1" in out.getvalue()
    assert len(stored(storage_dir)) == 2
