"""Allowed file types: a global list (empty: every type Harbor accepts) and per-tenant lists
within it, set in the Django admin or by a tenant admin on the Harbor settings page; every
upload path refuses a type outside the tenant's list with 415 and keeps nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from harbor_messaging.media import filetypes
from harbor_messaging.media.models import MediaFile, MediaSettings, TenantMediaSettings
from harbor_messaging.media.selectors import allowed_types_for
from tests.attachments import files
from tests.attachments.conftest import upload

pytestmark = pytest.mark.django_db(transaction=True)
SETTINGS_PAGE = "/en/harbor/settings/"
PDF = "application/pdf"


def _only_pdfs(tenant: Any) -> None:
    TenantMediaSettings.objects.create(tenant=tenant, allowed_types=[PDF])


def test_blank_lists_allow_every_type_harbor_accepts(world: dict[str, Any]) -> None:
    assert allowed_types_for(world["acme"]) == frozenset(filetypes.ALLOWED)
    MediaSettings.objects.create(allowed_types=[PDF, "image/png"])
    assert allowed_types_for(world["acme"]) == {PDF, "image/png"}
    _only_pdfs(world["acme"])
    assert allowed_types_for(world["acme"]) == {PDF}
    assert allowed_types_for(world["globex"]) == {PDF, "image/png"}


@pytest.mark.usefixtures("nothing_kept")
def test_a_tenant_limited_to_pdfs_refuses_a_png_on_the_upload_api(
    world: dict[str, Any], api: Any
) -> None:
    _only_pdfs(world["acme"])
    response = upload(
        api(world["ann"]), [("a.pdf", files.pdf()), ("dock.png", files.png())], tenantId="acme"
    )
    assert response.status_code == 415, response.content
    error = response.json()["error"]
    assert error["code"] == "unsupported_type"
    assert error["details"]["fileName"] == "dock.png"
    assert "dock.png" in error["message"]


@pytest.mark.usefixtures("nothing_kept")
def test_a_tenant_limited_to_pdfs_refuses_a_png_on_the_media_page(
    world: dict[str, Any], api: Any
) -> None:
    _only_pdfs(world["acme"])
    ann = api(world["ann"])
    page = ann.client.post(
        "/en/harbor/media/",
        {"files": [SimpleUploadedFile("dock.png", files.png())], "csrfmiddlewaretoken": ann.csrf},
        follow=True,
    )
    assert b"dock.png is of a type that may not be attached" in page.content


def test_another_tenant_is_unaffected(world: dict[str, Any], api: Any, storage_dir: Path) -> None:
    _only_pdfs(world["acme"])
    response = upload(api(world["dee"]), [("dock.png", files.png())], tenantId="globex")
    assert response.status_code == 201, response.content
    assert upload(api(world["ann"]), [("a.pdf", files.pdf())], tenantId="acme").status_code == 201
    assert MediaFile.objects.count() == 2


def test_a_tenant_admin_sets_the_types_within_the_global_list(world: dict[str, Any]) -> None:
    MediaSettings.objects.create(allowed_types=[PDF, "image/png"])
    ann = Client()
    ann.force_login(world["ann"])
    page = ann.get(SETTINGS_PAGE, {"tenantId": "acme"})
    assert b'value="application/pdf"' in page.content
    assert b'value="image/jpeg"' not in page.content  # Not in the global list: not offered.
    saved = ann.post(SETTINGS_PAGE, {"tenantId": "acme", "allowed_types": [PDF]})
    assert saved.status_code == 302
    assert allowed_types_for(world["acme"]) == {PDF}

    refused = ann.post(
        SETTINGS_PAGE, {"tenantId": "acme", "allowed_types": [PDF, "image/jpeg"]}, follow=True
    )
    assert b"The global settings do not allow these types: image/jpeg." in refused.content
    ann.post(SETTINGS_PAGE, {"tenantId": "acme", "allowed_types": ["image/svg+xml"]})
    assert allowed_types_for(world["acme"]) == {PDF}

    ann.post(SETTINGS_PAGE, {"tenantId": "acme"})  # None ticked: back to the global list.
    assert allowed_types_for(world["acme"]) == {PDF, "image/png"}
    assert not TenantMediaSettings.objects.filter(tenant=world["globex"]).exists()


@pytest.mark.parametrize("username", ["bo", "cy"])
def test_a_subscriber_cannot_change_the_types(world: dict[str, Any], username: str) -> None:
    client = Client()
    client.force_login(world[username])
    refused = client.post(SETTINGS_PAGE, {"tenantId": "acme", "allowed_types": [PDF]})
    assert refused.status_code == 403
    assert allowed_types_for(world["acme"]) == frozenset(filetypes.ALLOWED)
    assert not TenantMediaSettings.objects.exists()


def test_the_django_admin_validates_the_lists(world: dict[str, Any], admin_client: Any) -> None:
    bad = admin_client.post(
        "/admin/media/mediasettings/add/",
        {"max_file_size": "1000", "allowed_types": ["image/svg+xml"]},
    )
    assert bad.status_code == 200 and not MediaSettings.objects.exists()
    added = admin_client.post(
        "/admin/media/mediasettings/add/", {"max_file_size": "1000", "allowed_types": [PDF]}
    )
    assert added.status_code == 302
    assert MediaSettings.objects.get().allowed_types == [PDF]

    outside = admin_client.post(
        "/admin/media/tenantmediasettings/add/",
        {"tenant": world["acme"].pk, "allowed_types": ["image/png"]},
    )
    assert outside.status_code == 200
    assert b"The global settings do not allow these types: image/png." in outside.content
    assert not TenantMediaSettings.objects.exists()
    within = admin_client.post(
        "/admin/media/tenantmediasettings/add/",
        {"tenant": world["acme"].pk, "allowed_types": [PDF]},
    )
    assert within.status_code == 302
    assert allowed_types_for(world["acme"]) == {PDF}
