"""The attachment endpoints through the HTTP API: upload, send with files, attach, list,
download, remove, and who may do which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attachments.models import MessageAttachment
from harbor_messaging.media.models import MediaFile
from messaging import events
from messaging.models import Message
from tests import factories

from . import files
from .conftest import stored, upload

pytestmark = pytest.mark.django_db(transaction=True)


def _send(client: Any, **body: Any) -> Any:
    return client.post("/api/messaging/send", {"tenantId": "acme", **body})


def test_upload_then_send_with_the_files_and_an_empty_body(
    world: dict[str, Any], api: Any, storage_dir: Path, published: list[Any]
) -> None:
    ann = api(world["ann"])
    response = upload(
        ann, [("harbour.png", files.png()), ("plan.pdf", files.pdf())], tenantId="acme"
    )
    assert response.status_code == 201, response.content
    uploads = response.json()["uploads"]
    assert [(u["fileName"], u["contentType"]) for u in uploads] == [
        ("harbour.png", "image/png"),
        ("plan.pdf", "application/pdf"),
    ]
    assert all(u["uploadId"] == u["mediaFileId"] for u in uploads)
    # Both files and the PNG's thumbnail are in storage, under keys that carry no user name.
    assert len(stored(storage_dir)) == 3
    assert not any("harbour" in key or "plan" in key for key in stored(storage_dir))
    media = MediaFile.objects.get(pk=uploads[0]["uploadId"])
    assert media.origin == "upload" and media.scan_state == "not_scanned"
    assert len(media.checksum) == 64 and media.size == len(files.png())

    sent = _send(
        ann, recipientIds=[world["bo"].pk], attachmentUploadIds=[u["uploadId"] for u in uploads]
    )
    assert sent.status_code == 201, sent.content
    message = sent.json()
    assert message["body"] == "" and message["subject"] == ""
    assert message["hasAttachments"] is True and message["attachmentCount"] == 2
    first, second = message["attachments"]
    assert first["attachmentType"] == "upload" and first["fileName"] == "harbour.png"
    assert first["url"] == f"/api/messaging/attachments/{first['id']}/download"
    assert first["thumbnailUrl"] == f"/api/messaging/attachments/{first['id']}/thumbnail"
    assert second["thumbnailUrl"] is None and second["fileSize"] == len(files.pdf())
    # The recipient sees them in the list and in message:new, with no attachment events.
    inbox = api(world["bo"]).get("/api/messaging/messages", {"tenantId": "acme"}).json()
    assert inbox["results"][0]["attachments"] == message["attachments"]
    new = [e for e in published if e.type == events.MESSAGE_NEW and e.user_ids == (world["bo"].pk,)]
    assert new[0].payload["message"]["attachmentCount"] == 2
    assert not [e for e in published if e.type.startswith("message:attachment")]


def test_send_with_library_files_and_uploads_together(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])
    [lib] = upload(ann, [("a.txt", b"hello\n")], tenantId="acme").json()["uploads"]
    MediaFile.objects.filter(pk=lib["mediaFileId"]).update(origin="media_library")
    [up] = upload(ann, [("b.csv", b"a,b\n1,2\n")], tenantId="acme").json()["uploads"]
    sent = _send(
        ann,
        recipientIds=[world["bo"].pk],
        body="two files",
        attachmentUploadIds=[up["uploadId"]],
        mediaFileIds=[lib["mediaFileId"], up["uploadId"]],
    )
    assert sent.status_code == 201, sent.content
    types = [(a["fileName"], a["attachmentType"]) for a in sent.json()["attachments"]]
    assert types == [("b.csv", "upload"), ("a.txt", "media_library")]
    # A library file is not an upload: naming it as one is refused.
    refused = _send(ann, recipientIds=[world["bo"].pk], attachmentUploadIds=[lib["mediaFileId"]])
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["field"] == "attachmentUploadIds"


def test_download_headers_inline_only_for_raster_images(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])
    ids = [
        u["uploadId"]
        for u in upload(
            ann,
            [("Grüße “quoted”.pdf", files.pdf()), ("pic.png", files.png()), ("n.txt", b"hi\n")],
            tenantId="acme",
        ).json()["uploads"]
    ]
    message = _send(ann, recipientIds=[world["bo"].pk], attachmentUploadIds=ids).json()
    pdf_att, png_att, txt_att = message["attachments"]
    bo = api(world["bo"])

    response = bo.get(pdf_att["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files.pdf()
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        'attachment; filename="Grue quoted.pdf"; '
        "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%80%9Cquoted%E2%80%9D.pdf"
    )
    assert "sandbox" in response["Content-Security-Policy"]

    image = bo.get(png_att["url"])
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith("inline; ")
    thumb = bo.get(png_att["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert b"".join(thumb.streaming_content)[8:12] == b"WEBP"

    text = bo.get(txt_att["url"])
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text["Content-Disposition"].startswith("attachment; ")


def test_only_sender_recipients_and_owner_download(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])
    [u] = upload(ann, [("x.pdf", files.pdf())], tenantId="acme").json()["uploads"]
    message = _send(ann, recipientIds=[world["bo"].pk], attachmentUploadIds=[u["uploadId"]]).json()
    url = message["attachments"][0]["url"]
    assert ann.get(url).status_code == 200
    assert api(world["bo"]).get(url).status_code == 200
    # cy is in acme but not a recipient; dee is in another tenant: neither is told it exists.
    for outsider in ("cy", "dee"):
        response = api(world[outsider]).get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api().get(url).status_code == 401
    # A recipient who removed it from their inbox loses it; the owner keeps the library copy.
    api(world["bo"]).delete(f"/api/messaging/messages/{message['id']}")
    assert api(world["bo"]).get(url).status_code == 404
    assert ann.get(f"/api/media/files/{u['mediaFileId']}/download").status_code == 200
    assert api(world["bo"]).get(f"/api/media/files/{u['mediaFileId']}/download").status_code == 404


def test_upload_onto_a_sent_message_and_remove_publish_events(
    world: dict[str, Any], api: Any, storage_dir: Path, published: list[Any]
) -> None:
    ann_user, bo, cy = world["ann"], world["bo"], world["cy"]
    message = factories.send(ann_user, world["acme"], [bo, cy], subject="Berth plan")
    ann = api(ann_user)
    response = upload(ann, [("late.png", files.png())], tenantId="acme", messageId=message.pk)
    assert response.status_code == 201, response.content
    [attachment] = response.json()["attachments"]
    assert attachment["messageId"] == message.pk and attachment["attachmentType"] == "upload"
    message.refresh_from_db()
    assert message.has_attachments and message.attachment_count == 1

    added = [e for e in published if e.type == events.MESSAGE_ATTACHMENT_ADDED]
    assert len(added) == 1
    assert set(added[0].user_ids) == {ann_user.pk, bo.pk, cy.pk}
    assert added[0].payload == {
        "attachment": attachment,
        "attachmentCount": 1,
        "hasAttachments": True,
    }
    listed = api(bo).get(f"/api/messaging/attachments/{message.pk}").json()
    assert listed["attachments"] == [attachment] and listed["attachmentCount"] == 1

    # A recipient may not remove it; an outsider is not told it exists.
    assert api(bo).delete(f"/api/messaging/attachments/{attachment['id']}").status_code == 403
    assert (
        api(world["dee"]).delete(f"/api/messaging/attachments/{attachment['id']}").status_code
        == 404
    )
    published.clear()
    assert ann.delete(f"/api/messaging/attachments/{attachment['id']}").status_code == 204
    [removed] = published
    assert removed.type == events.MESSAGE_ATTACHMENT_REMOVED
    assert removed.payload == {
        "id": attachment["id"],
        "attachmentId": attachment["id"],
        "attachmentCount": 0,
        "hasAttachments": False,
    }
    message.refresh_from_db()
    assert not message.has_attachments and message.attachment_count == 0
    # The file stays in ann's library; only the attachment went.
    assert MediaFile.objects.filter(pk=attachment["mediaFileId"]).exists()
    assert api(bo).get(attachment["url"]).status_code == 404


def test_tenant_wide_message_events_go_to_the_tenant_and_the_senders_copy(
    world: dict[str, Any], api: Any, storage_dir: Path, published: list[Any]
) -> None:
    ann_user = world["ann"]
    message = factories.send(ann_user, world["acme"], "all", subject="To everyone")
    ann = api(ann_user)
    [lib] = upload(ann, [("notice.txt", b"notice\n")], tenantId="acme").json()["uploads"]
    published.clear()
    response = ann.post(
        "/api/messaging/attachments/attach",
        {"messageId": message.pk, "mediaFileIds": [lib["mediaFileId"]]},
    )
    assert response.status_code == 201, response.content
    [attachment] = response.json()["attachments"]
    assert attachment["attachmentType"] == "media_library"
    targets = sorted((e.user_ids, e.to_tenant, e.skip_user_ids) for e in published)
    assert targets == [((), True, (ann_user.pk,)), ((ann_user.pk,), False, ())]
    # Attaching it again changes nothing and sends nothing.
    published.clear()
    again = ann.post(
        "/api/messaging/attachments/attach",
        {"messageId": message.pk, "mediaFileIds": [lib["mediaFileId"]]},
    )
    assert again.status_code == 201 and again.json()["attachments"] == [attachment]
    assert published == []


def test_another_tenants_file_and_a_message_not_yours(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    dee = api(world["dee"])
    [theirs] = upload(dee, [("g.pdf", files.pdf())], tenantId="globex").json()["uploads"]
    ann = api(world["ann"])
    before = MessageAttachment.objects.count(), Message.objects.count()
    sent = _send(ann, recipientIds=[world["bo"].pk], body="x", mediaFileIds=[theirs["mediaFileId"]])
    # Body ids answer as unknown recipients do: 400, the same as for an id that does not exist.
    assert sent.status_code == 400
    assert sent.json()["error"]["details"] == {
        "field": "mediaFileIds",
        "unknown": [theirs["mediaFileId"]],
    }
    # Another member's file in the same tenant is not yours either.
    [bos] = upload(api(world["bo"]), [("b.pdf", files.pdf())], tenantId="acme").json()["uploads"]
    assert (
        _send(ann, recipientIds=[world["bo"].pk], mediaFileIds=[bos["mediaFileId"]]).status_code
        == 400
    )
    assert ann.get(f"/api/media/files/{theirs['mediaFileId']}/download").status_code == 404

    mine = factories.send(world["ann"], world["acme"], [world["bo"]], subject="mine")
    elsewhere = factories.send(world["dee"], world["globex"], [world["cy"]], subject="theirs")
    # Not the sender: 403 for a message bo can see, 404 for one he cannot.
    bo = api(world["bo"])
    attach = {"messageId": mine.pk, "mediaFileIds": [bos["mediaFileId"]]}
    assert bo.post("/api/messaging/attachments/attach", attach).status_code == 403
    attach = {"messageId": elsewhere.pk, "mediaFileIds": [bos["mediaFileId"]]}
    assert bo.post("/api/messaging/attachments/attach", attach).status_code == 404
    up = upload(bo, [("y.pdf", files.pdf())], tenantId="acme", messageId=mine.pk)
    assert up.status_code == 403
    assert bo.get(f"/api/messaging/attachments/{elsewhere.pk}").status_code == 404
    assert (MessageAttachment.objects.count(), Message.objects.count()) == (
        before[0],
        before[1] + 2,
    )


def test_the_library_list_for_the_picker(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])
    upload(ann, [("one.png", files.png()), ("two.txt", b"two\n")], tenantId="acme")
    upload(api(world["bo"]), [("bos.txt", b"bo\n")], tenantId="acme")
    response = ann.get("/api/media/files", {"tenantId": "acme"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["fileName"] for r in results] == ["two.txt", "one.png"]
    assert results[1]["thumbnailUrl"] == f"/api/media/files/{results[1]['id']}/thumbnail"
    assert set(results[0]) >= {
        "id",
        "fileName",
        "fileSize",
        "contentType",
        "createdAt",
        "thumbnailUrl",
    }
    assert ann.get("/api/media/files", {"tenantId": "globex"}).status_code == 404
    assert (
        ann.get("/api/media/files", {"tenantId": "acme", "q": "one"}).json()["results"][0][
            "fileName"
        ]
        == "one.png"
    )
