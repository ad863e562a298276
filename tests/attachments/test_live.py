"""Attachments against a running Daphne: a 200 MB upload with bounded server memory, and
the attachment events as a real SSE client reads them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harbor_messaging.media.models import MediaFile, TenantMediaSettings
from tests import factories
from tests.live import DaphneServer, login
from tests.sse import SSEStream

from . import files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

MiB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmHWM is the peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def multipart(
    fields: dict[str, str], name: str, size: int, boundary: str
) -> tuple[int, Iterator[bytes]]:
    """A multipart body with one file of ``size`` bytes of text, made as it is sent."""
    head = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    line = b"harbor manifest line: the same text over and over until the size is reached\n"
    block = line * (MiB // len(line)) + line[: MiB % len(line)]

    def body() -> Iterator[bytes]:
        yield head
        left = size
        while left:
            chunk = block[: min(left, len(block))]
            left -= len(chunk)
            yield chunk
        yield tail

    return len(head) + size + len(tail), body()


def test_a_200_mb_upload_completes_with_bounded_server_memory(
    world: dict[str, Any], tmp_path: Path
) -> None:
    TenantMediaSettings.objects.create(tenant=world["acme"], max_file_size=256 * MiB)
    temp = tmp_path / "tmp"
    temp.mkdir()
    with DaphneServer(env={"TMPDIR": str(temp)}) as server:
        assert server.process is not None
        pid = server.process.pid
        client = login(server.url, "ann", factories.PASSWORD)
        client.timeout = httpx.Timeout(300.0)
        # Warm up: the first upload loads libmagic, Pillow and the upload code.
        warm = client.post(
            "/api/messaging/attachments/upload?tenantId=acme",
            data={"tenantId": "acme"},
            files={"files": ("warm.png", files.png(), "image/png")},
        )
        assert warm.status_code == 201, warm.text
        before = status_kib(pid, "VmHWM")

        size = 200 * 1000 * 1000
        boundary = uuid.uuid4().hex
        length, body = multipart({"tenantId": "acme"}, "manifest.txt", size, boundary)
        response = client.post(
            "/api/messaging/attachments/upload?tenantId=acme",
            content=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        assert response.status_code == 201, response.text
        [done] = response.json()["uploads"]
        assert done["fileSize"] == size and done["contentType"] == "text/plain"
        growth_kib = status_kib(pid, "VmHWM") - before
        print(f"peak RSS growth for 200 MB: {growth_kib} KiB")
        # Bounded: a few chunks and buffers, not the file (200 MB) nor a good part of it.
        assert growth_kib < 48 * 1024, f"peak RSS grew by {growth_kib} KiB"
        media = MediaFile.objects.get(pk=done["mediaFileId"])
        assert media.file.size == size
        # Every temporary file of the request is gone again.
        assert list(temp.iterdir()) == []
        client.close()


def test_attachment_events_reach_the_sender_and_recipients_live(
    world: dict[str, Any], live_daphne: Any
) -> None:
    message = factories.send(world["ann"], world["acme"], [world["bo"]], subject="Plans")
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    cy = login(live_daphne.url, "cy", factories.PASSWORD)
    path = "/api/messaging/stream/acme/"
    with (
        SSEStream(bo, path) as bo_stream,
        SSEStream(ann, path) as ann_stream,
        SSEStream(cy, path) as cy_stream,
    ):
        response = ann.post(
            "/api/messaging/attachments/upload",
            data={"tenantId": "acme", "messageId": str(message.pk)},
            files={"files": ("plan.png", files.png(), "image/png")},
        )
        assert response.status_code == 201, response.text
        [attachment] = response.json()["attachments"]
        for stream in (bo_stream, ann_stream):
            (added,) = stream.take(1)
            assert added.event == "message:attachment:added"
            assert added.data["data"]["messageId"] == message.pk
            assert added.data["data"]["payload"] == {
                "attachment": attachment,
                "attachmentCount": 1,
                "hasAttachments": True,
            }
        # The recipient downloads what the event pointed at.
        image = bo.get(attachment["url"])
        assert image.status_code == 200 and image.content == files.png()

        assert ann.delete(f"/api/messaging/attachments/{attachment['id']}").status_code == 204
        for stream in (bo_stream, ann_stream):
            (removed,) = stream.take(1)
            assert removed.event == "message:attachment:removed"
            assert removed.data["data"]["payload"]["attachmentId"] == attachment["id"]
            assert removed.data["data"]["payload"]["attachmentCount"] == 0
        # cy is in the tenant but not on the message: nothing reached him.
        assert cy_stream.quiet(0.5) == []
    for client in (ann, bo, cy):
        client.close()
