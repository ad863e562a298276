"""The media library page (/en/harbor/media/): browse, upload and delete one's own files,
with plain forms; the limits in the Django admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from harbor_messaging.media.models import MediaFile, MediaSettings, TenantMediaSettings
from tests.attachments import files
from tests.attachments.conftest import stored, upload

pytestmark = pytest.mark.django_db(transaction=True)
PAGE = "/en/harbor/media/"


def _post_files(client: Any, items: list[tuple[str, bytes]]) -> Any:
    return client.client.post(
        PAGE,
        {
            "files": [SimpleUploadedFile(n, c) for n, c in items],
            "csrfmiddlewaretoken": client.csrf,
        },
        follow=True,
    )


def test_browse_upload_and_delete(world: dict[str, Any], api: Any, storage_dir: Path) -> None:
    ann = api(world["ann"])
    page = ann.get(PAGE)
    assert page.status_code == 200
    assert b"No files yet" in page.content
    assert f'href="{PAGE}" aria-current="page"'.encode() in page.content  # the app bar item

    done = _post_files(ann, [("dock.png", files.png()), ("notes.txt", b"notes\n")])
    assert done.status_code == 200
    assert b"2 files uploaded." in done.content
    assert b"dock.png" in done.content and b"notes.txt" in done.content
    assert set(MediaFile.objects.values_list("origin", flat=True)) == {"media_library"}
    dock = MediaFile.objects.get(name="dock.png")
    assert f"/api/media/files/{dock.pk}/thumbnail".encode() in done.content
    # Bo sees none of ann's files.
    assert b"dock.png" not in api(world["bo"]).get(PAGE).content

    refused = _post_files(ann, [("x.svg", files.SVG_WITH_SCRIPT)])
    assert b"x.svg is of a type that may not be attached" in refused.content
    assert MediaFile.objects.count() == 2

    # Deleting: not someone else's file; one's own goes from storage and the page.
    bo = api(world["bo"])
    other = bo.client.post(f"/en/harbor/media/{dock.pk}/delete", {"csrfmiddlewaretoken": bo.csrf})
    assert other.status_code == 302 and MediaFile.objects.filter(pk=dock.pk).exists()
    before = len(stored(storage_dir))
    gone = ann.client.post(
        f"/en/harbor/media/{dock.pk}/delete", {"csrfmiddlewaretoken": ann.csrf}, follow=True
    )
    assert b"File deleted." in gone.content
    assert not MediaFile.objects.filter(pk=dock.pk).exists()
    assert len(stored(storage_dir)) == before - 2  # the file and its thumbnail


def test_uploads_without_csrf_are_refused_and_keep_nothing(
    world: dict[str, Any], api: Any, nothing_kept: None
) -> None:
    ann = api(world["ann"])
    response = ann.client.post(PAGE, {"files": [SimpleUploadedFile("a.txt", b"a\n")]})
    assert response.status_code == 403


def test_limits_are_set_in_the_admin(world: dict[str, Any], api: Any, storage_dir: Path) -> None:
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "pw-123456")
    client = api(admin)
    page = client.get("/admin/media/mediasettings/add/")
    assert page.status_code == 200
    added = client.client.post(
        "/admin/media/mediasettings/add/",
        {"max_file_size": "1000", "csrfmiddlewaretoken": client.csrf},
    )
    assert added.status_code == 302
    assert MediaSettings.objects.get().max_file_size == 1000
    assert client.get("/admin/media/mediasettings/add/").status_code == 403  # one row only
    override = client.client.post(
        "/admin/media/tenantmediasettings/add/",
        {"tenant": world["acme"].pk, "max_file_size": "5000", "csrfmiddlewaretoken": client.csrf},
    )
    assert override.status_code == 302
    assert TenantMediaSettings.objects.get().max_file_size == 5000
    ann = api(world["ann"])
    assert upload(ann, [("a.txt", b"a" * 4000)], tenantId="acme").status_code == 201
    assert upload(ann, [("a.txt", b"a" * 5001)], tenantId="acme").status_code == 413
    assert client.get("/admin/media/mediafile/").status_code == 200


def test_a_tenant_admin_sets_the_tenants_limit_on_the_page(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    ann = api(world["ann"])  # acme's tenant admin
    assert b"Attachment limit for this tenant" in ann.get(PAGE).content
    saved = ann.client.post(
        "/en/harbor/media/limit",
        {"max_file_size_mib": "1", "csrfmiddlewaretoken": ann.csrf},
        follow=True,
    )
    assert b"The attachment limit is saved." in saved.content
    assert TenantMediaSettings.objects.get(tenant=world["acme"]).max_file_size == 1024 * 1024
    assert upload(ann, [("a.txt", b"a" * (1024 * 1024 + 1))], tenantId="acme").status_code == 413
    # Back to the default, and nonsense refused.
    ann.client.post(
        "/en/harbor/media/limit", {"max_file_size_mib": "", "csrfmiddlewaretoken": ann.csrf}
    )
    assert TenantMediaSettings.objects.get(tenant=world["acme"]).max_file_size is None
    bad = ann.client.post(
        "/en/harbor/media/limit",
        {"max_file_size_mib": "99999999", "csrfmiddlewaretoken": ann.csrf},
        follow=True,
    )
    assert b"The limit must be from 1 byte" in bad.content
    # A subscriber sees no form and may not set it.
    bo = api(world["bo"])
    assert b"Attachment limit for this tenant" not in bo.get(PAGE).content
    refused = bo.client.post(
        "/en/harbor/media/limit",
        {"max_file_size_mib": "500", "csrfmiddlewaretoken": bo.csrf},
        follow=True,
    )
    assert b"Only the tenant" in refused.content
    assert TenantMediaSettings.objects.get(tenant=world["acme"]).max_file_size is None
