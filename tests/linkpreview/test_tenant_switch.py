"""A tenant admin's "link previews off" is obeyed: links stay clickable, nothing is fetched."""

from __future__ import annotations

from typing import Any

import pytest

from harbor_messaging.tenants.models import TenantSettings
from linkpreview.models import LinkPreview, MessageLink
from tests import factories

pytestmark = pytest.mark.django_db


def test_previews_switched_off_for_a_tenant_fetch_nothing(world: dict[str, Any], api: Any) -> None:
    TenantSettings.objects.create(tenant=world["acme"], link_previews_enabled=False)
    message = factories.send(
        world["bo"], world["acme"], [world["ann"]], body="See https://example.org/page"
    )
    (link,) = MessageLink.objects.filter(message=message)
    assert link.status == MessageLink.Status.UNAVAILABLE
    assert not LinkPreview.objects.exists()
    # The link is still a link, and refreshing cannot start a fetch either.
    shown = api(world["ann"]).get(f"/api/messaging/messages/{message.pk}").json()
    assert 'href="https://example.org/page"' in shown["bodyHtml"]
    refresh = api(world["bo"]).post("/api/messaging/links/refresh", {"messageId": message.pk})
    assert refresh.status_code == 422
    assert not LinkPreview.objects.exists()


def test_another_tenant_keeps_its_previews(world: dict[str, Any]) -> None:
    TenantSettings.objects.create(tenant=world["acme"], link_previews_enabled=False)
    factories.send(world["dee"], world["globex"], [world["cy"]], body="https://example.org/x")
    assert LinkPreview.objects.filter(normalized_url="https://example.org/x").exists()
