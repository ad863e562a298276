"""Storage on a real S3 API over HTTP (moto's server mode, started here), through
django-storages and boto3 as R2 would be reached: region "auto", SigV4, path-style."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from attachments.models import MessageAttachment
from harbor_messaging.media.models import MediaFile

from . import files
from .conftest import upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_send_and_download_through_a_signed_url(
    world: dict[str, Any], api: Any, moto_s3: Any, s3_bucket: str
) -> None:
    ann = api(world["ann"])
    response = upload(
        ann, [("chart.png", files.png()), ("Bericht ü.pdf", files.pdf())], tenantId="acme"
    )
    assert response.status_code == 201, response.content
    keys = moto_s3.keys(s3_bucket)
    # Both files and the thumbnail are objects in the bucket.
    assert len(keys) == 3 and sum(k.startswith("library/acme/") for k in keys) == 2
    ids = [u["uploadId"] for u in response.json()["uploads"]]
    message = ann.post(
        "/api/messaging/send",
        {"tenantId": "acme", "recipientIds": [world["bo"].pk], "attachmentUploadIds": ids},
    ).json()
    png_att, pdf_att = message["attachments"]

    bo = api(world["bo"])
    redirect = bo.get(pdf_att["url"])
    assert redirect.status_code == 302
    assert redirect["X-Content-Type-Options"] == "nosniff"
    signed = redirect["Location"]
    assert signed.startswith(moto_s3.url + f"/{s3_bucket}/library/acme/")
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert "/auto/s3/aws4_request" in query["X-Amz-Credential"][0]
    fetched = httpx.get(signed)
    assert fetched.status_code == 200
    assert fetched.content == files.pdf()
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["content-disposition"].startswith('attachment; filename="Bericht u.pdf"')
    # Without the signature the bucket answers nothing of it.
    assert httpx.get(signed.split("?")[0] + "?X-Amz-Expires=300").status_code in {400, 403}

    image = httpx.get(bo.get(png_att["url"])["Location"])
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline; ")
    thumb = httpx.get(bo.get(png_att["thumbnailUrl"])["Location"])
    assert thumb.content[8:12] == b"WEBP"
    # Someone outside the message gets no URL at all.
    assert api(world["cy"]).get(pdf_att["url"]).status_code == 404


def test_a_refused_upload_leaves_the_bucket_as_it_was(
    world: dict[str, Any], api: Any, moto_s3: Any, s3_bucket: str
) -> None:
    ann = api(world["ann"])
    upload(ann, [("keep.txt", b"keep\n")], tenantId="acme")
    before = moto_s3.keys(s3_bucket)
    rows = MediaFile.objects.count()
    response = upload(
        ann,
        [("ok.png", files.png()), ("ok.txt", b"ok\n"), ("bomb.png", files.bomb_png())],
        tenantId="acme",
    )
    assert response.status_code == 422
    assert moto_s3.keys(s3_bucket) == before
    assert MediaFile.objects.count() == rows


def test_deleting_a_library_file_removes_it_from_messages_and_the_bucket(
    world: dict[str, Any], api: Any, moto_s3: Any, s3_bucket: str, published: list[Any]
) -> None:
    ann = api(world["ann"])
    [u] = upload(ann, [("gone.png", files.png())], tenantId="acme").json()["uploads"]
    message = ann.post(
        "/api/messaging/send",
        {"tenantId": "acme", "recipientIds": [world["bo"].pk], "mediaFileIds": [u["mediaFileId"]]},
    ).json()
    assert message["attachmentCount"] == 1 and len(moto_s3.keys(s3_bucket)) == 2
    published.clear()
    page = ann.client.post(
        f"/en/harbor/media/{u['mediaFileId']}/delete", headers={"X-CSRFToken": ann.csrf}
    )
    assert page.status_code == 302
    assert moto_s3.keys(s3_bucket) == []
    assert not MediaFile.objects.exists() and not MessageAttachment.objects.exists()
    assert {e.type for e in published} == {"message:attachment:removed"}
    assert (
        api(world["bo"]).get(f"/api/messaging/messages/{message['id']}").json()["attachmentCount"]
        == 0
    )
