"""The Harbor settings page: a tenant admin sets their own tenant's attachment limit within
the global ceiling and link previews on or off; nobody else changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from harbor_messaging.media.selectors import max_file_size_for, tenant_override
from harbor_messaging.tenants.models import TenantSettings
from harbor_messaging.tenants.selectors import link_previews_enabled_for

PAGE = "/en/harbor/settings/"
MiB = 1024 * 1024


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_tenant_admin_sets_their_tenants_limit_and_previews(world: dict[str, Any]) -> None:
    ann = _client(world["ann"])
    page = ann.get(PAGE, {"tenantId": "acme"})
    assert page.status_code == 200
    assert b'name="max_file_size_mib"' in page.content
    saved = ann.post(PAGE, {"tenantId": "acme", "max_file_size_mib": "5"})
    assert saved.status_code == 302
    assert max_file_size_for(world["acme"]) == 5 * MiB
    assert link_previews_enabled_for(world["acme"]) is False  # The box was left unticked.
    ann.post(PAGE, {"tenantId": "acme", "max_file_size_mib": "", "link_previews": "on"})
    assert tenant_override(world["acme"]) is None
    assert link_previews_enabled_for(world["acme"]) is True
    # Globex was never touched.
    assert tenant_override(world["globex"]) is None
    assert not TenantSettings.objects.filter(tenant=world["globex"]).exists()


def test_a_tenant_admin_cannot_raise_the_limit_above_the_global_ceiling(
    world: dict[str, Any], settings: Any
) -> None:
    settings.HARBOR_MEDIA_MAX_FILE_SIZE_CAP = 100 * MiB
    ann = _client(world["ann"])
    ann.post(PAGE, {"tenantId": "acme", "max_file_size_mib": "50", "link_previews": "on"})
    refused = ann.post(
        PAGE, {"tenantId": "acme", "max_file_size_mib": "101", "link_previews": "on"}, follow=True
    )
    assert b"The limit must be from 1 byte to" in refused.content
    assert max_file_size_for(world["acme"]) == 50 * MiB
    for bad in ["-1", "1.5", "99999999999", "abc"]:
        ann.post(PAGE, {"tenantId": "acme", "max_file_size_mib": bad})
        assert max_file_size_for(world["acme"]) == 50 * MiB


def test_a_tenant_admin_cannot_touch_another_tenants_settings(world: dict[str, Any]) -> None:
    ann = _client(world["ann"])  # Admin of acme, not a member of globex.
    assert ann.get(PAGE, {"tenantId": "globex"}).status_code == 404
    refused = ann.post(PAGE, {"tenantId": "globex", "max_file_size_mib": "1"})
    assert refused.status_code == 404
    assert tenant_override(world["globex"]) is None
    assert not TenantSettings.objects.filter(tenant=world["globex"]).exists()
    # Dee is globex's admin but cy's tenant acme is not hers either.
    dee = _client(world["dee"])
    assert dee.post(PAGE, {"tenantId": "acme", "max_file_size_mib": "1"}).status_code == 404
    assert tenant_override(world["acme"]) is None


@pytest.mark.parametrize("username", ["bo", "cy"])
def test_a_subscriber_cannot_change_settings(world: dict[str, Any], username: str) -> None:
    client = _client(world[username])
    assert client.get(PAGE, {"tenantId": "acme"}).status_code == 403
    refused = client.post(PAGE, {"tenantId": "acme", "max_file_size_mib": "1"})
    assert refused.status_code == 403
    assert tenant_override(world["acme"]) is None
    assert not TenantSettings.objects.filter(tenant=world["acme"]).exists()


def test_anonymous_users_are_sent_to_log_in(world: dict[str, Any]) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_global_admins_switch_previews_per_tenant_in_the_django_admin(
    world: dict[str, Any], admin_client: Any
) -> None:
    response = admin_client.post(
        "/admin/tenants/tenantsettings/add/", {"tenant": world["globex"].pk}
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    assert link_previews_enabled_for(world["globex"]) is False
    assert link_previews_enabled_for(world["acme"]) is True


def test_previews_off_site_wide_wins(world: dict[str, Any], settings: Any) -> None:
    settings.LINKPREVIEW_ENABLED = False
    assert link_previews_enabled_for(world["acme"]) is False
