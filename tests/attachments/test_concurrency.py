"""HasAttachments / AttachmentCount stay exact when adds and removes race, on PostgreSQL
(row locks are real there; SQLite runs one writer at a time anyway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from attachments import actions
from attachments.models import MessageAttachment
from harbor_messaging.media.models import MediaFile
from messaging.models import Message
from tests import factories
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _library(owner: Any, tenant: Any, n: int) -> list[MediaFile]:
    return MediaFile.objects.bulk_create(
        [
            MediaFile(
                tenant=tenant,
                owner=owner,
                origin="media_library",
                file=f"library/{tenant.slug}/f{i}.txt",
                name=f"f{i}.txt",
                size=1,
                content_type="text/plain",
                checksum="0" * 64,
                scan_state="not_scanned",
            )
            for i in range(n)
        ]
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_counts_stay_exact_under_concurrent_adds_and_removes(
    world: dict[str, Any], storage_dir: Path
) -> None:
    ann, acme = world["ann"], world["acme"]
    message = factories.send(ann, acme, [world["bo"]], subject="race")
    library = _library(ann, acme, 24)
    # 8 already on the message, to be removed while 16 others are added, 2 per thread.
    first = actions.do_attach_files(
        message=message,
        files=[actions.FileToAttach(f, "media_library") for f in library[:8]],
    )
    adds = [library[8 + 2 * i : 10 + 2 * i] for i in range(8)]

    def adder(batch: list[MediaFile]) -> Any:
        return lambda: actions.do_attach_files(
            message=Message.objects.get(pk=message.pk),
            files=[actions.FileToAttach(f, "media_library") for f in batch],
        )

    def remover(attachment_id: int) -> Any:
        return lambda: actions.do_remove_attachment(user=ann, attachment_id=attachment_id)

    workers = [adder(batch) for batch in adds] + [remover(a.pk) for a in first]
    assert run_together(workers) == []
    message.refresh_from_db()
    assert MessageAttachment.objects.filter(message=message).count() == 16
    assert message.attachment_count == 16 and message.has_attachments

    # Everything off again at once, each attachment removed by two racing requests.
    ids = list(MessageAttachment.objects.filter(message=message).values_list("pk", flat=True))
    errors = run_together([remover(i) for i in ids] * 2)
    assert len(errors) == len(ids)  # the loser of each pair is told it is gone (404)
    assert {type(e).__name__ for e in errors} == {"NotFound"}
    message.refresh_from_db()
    assert message.attachment_count == 0 and not message.has_attachments
