"""Rate limits: per user, per IP and per tenant, 429 with Retry-After, nothing written when
refused, the login throttle, and budgets that hold across two processes sharing Redis."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from harbor_messaging.media.models import MediaFile
from messaging.models import Message
from tests import factories
from tests.live import DaphneServer, daphne_pair, login
from tests.services import RedisServer

SEND = "/api/messaging/send"


def _limits(settings: Any, action: str, **scopes: tuple[int, int]) -> None:
    limits = copy.deepcopy(django_settings.HARBOR_RATE_LIMITS)
    limits[action].update(scopes)
    settings.HARBOR_RATE_LIMITS = limits


def _refused(response: Any, scope: str) -> None:
    assert response.status_code == 429, response.content
    body = response.json()["error"]
    assert body["code"] == "rate_limited"
    assert body["details"]["scope"] == scope
    assert int(response["Retry-After"]) >= 1


def test_sends_per_user_are_limited_and_a_refused_send_writes_nothing(
    world: dict[str, Any], api: Any, settings: Any, published: list[Any]
) -> None:
    _limits(settings, "send", user=(2, 3600))
    bo = api(world["bo"])
    for i in range(2):
        ok = bo.post(SEND, {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": f"{i}"})
        assert ok.status_code == 201
    before, events = Message.objects.count(), len(published)
    refused = bo.post(SEND, {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": "x"})
    _refused(refused, "user")
    assert Message.objects.count() == before
    assert len(published) == events
    # Another user has a budget of their own.
    cy = api(world["cy"])
    assert (
        cy.post(
            SEND, {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": "y"}
        ).status_code
        == 201
    )


def test_sends_per_ip_and_per_tenant_are_limited(
    world: dict[str, Any], api: Any, settings: Any
) -> None:
    _limits(settings, "send", ip=(3, 3600))
    bo, cy = api(world["bo"]), api(world["cy"])
    to_ann = {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": "hi"}
    assert bo.post(SEND, to_ann).status_code == 201
    assert bo.post(SEND, to_ann).status_code == 201
    assert cy.post(SEND, to_ann).status_code == 201
    # Same address (the test client's 127.0.0.1), another user: the IP's budget is spent.
    _refused(cy.post(SEND, to_ann), "ip")

    _limits(settings, "send", ip=(1000, 3600), tenant=(1, 3600))
    settings.HARBOR_RATE_LIMIT_PREFIX += "-tenant"
    assert bo.post(SEND, to_ann).status_code == 201
    _refused(cy.post(SEND, to_ann), "tenant")
    # Another tenant is not held back by acme's traffic.
    dee = api(world["dee"])
    to_cy = {"tenantId": "globex", "recipientIds": [world["cy"].pk], "body": "hi"}
    assert dee.post(SEND, to_cy).status_code == 201


def test_uploads_are_limited_before_any_file_is_kept(world: dict[str, Any], settings: Any) -> None:
    _limits(settings, "upload", user=(1, 3600))
    client = Client()
    client.force_login(world["bo"])

    def upload(name: str) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            "/api/messaging/attachments/upload",
            {"tenantId": "acme", "files": [SimpleUploadedFile(name, b"plain text\n")]},
        )

    assert upload("a.txt").status_code == 201
    kept = MediaFile.objects.count()
    _refused(upload("b.txt"), "user")
    assert MediaFile.objects.count() == kept


def test_link_processing_is_limited(world: dict[str, Any], api: Any, settings: Any) -> None:
    _limits(settings, "links", user=(1, 3600))
    bo = api(world["bo"])
    assert (
        bo.post("/api/messaging/links/process", {"text": "https://example.org"}).status_code == 200
    )
    _refused(bo.post("/api/messaging/links/process", {"text": "https://example.org"}), "user")


def _login_post(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_is_throttled_per_username_with_a_clear_message(
    world: dict[str, Any], settings: Any
) -> None:
    _limits(settings, "login", username=(3, 3600))
    client = Client()
    for _ in range(3):
        assert _login_post(client, "bo", "wrong").status_code == 200
    # Now even the right password is refused, with a message that says why and how long.
    refused = _login_post(client, "bo", factories.PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert b"Too many failed log-in attempts" in refused.content
    assert "_auth_user_id" not in client.session
    # Another account from the same address still logs in.
    assert _login_post(Client(), "cy", factories.PASSWORD).status_code == 302


def test_login_is_throttled_per_ip(world: dict[str, Any], settings: Any) -> None:
    _limits(settings, "login", ip=(2, 3600))
    assert _login_post(Client(), "bo", "wrong").status_code == 200
    assert _login_post(Client(), "cy", "wrong").status_code == 200
    assert _login_post(Client(), "ann", factories.PASSWORD).status_code == 429
    # The admin's login form counts against the same budget.
    admin = Client().post("/admin/login/", {"username": "ann", "password": factories.PASSWORD})
    assert b"Too many failed log-in attempts" in admin.content


# -- across processes ---------------------------------------------------------------------


@pytest.fixture
def two_limited_servers(django_db_blocker: Any) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    with RedisServer() as redis_server:
        env = {
            "REDIS_URL": redis_server.url,
            "HARBOR_REDIS_PREFIX": f"test-rl-{redis_server.port}",
            # An hour's window, so no window boundary falls inside the test.
            "HARBOR_RATE_SEND_USER": "3/3600",
            "HARBOR_RATE_SEND_IP": "5/3600",
            "HARBOR_RATE_STREAM_USER": "2/3600",
        }
        with daphne_pair(env) as pair:
            yield pair


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_limits_hold_across_two_processes_sharing_redis(
    world: dict[str, Any], two_limited_servers: tuple[DaphneServer, DaphneServer]
) -> None:
    a, b = two_limited_servers
    bo_a, bo_b = login(a.url, "bo", factories.PASSWORD), login(b.url, "bo", factories.PASSWORD)
    cy_b = login(b.url, "cy", factories.PASSWORD)
    to_ann = {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": "hi"}

    # Per user: three sends in all, whichever process takes them.
    assert bo_a.post(SEND, json=to_ann).status_code == 201
    assert bo_b.post(SEND, json=to_ann).status_code == 201
    assert bo_a.post(SEND, json=to_ann).status_code == 201
    before = Message.objects.count()
    refused = bo_b.post(SEND, json=to_ann)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["details"]["scope"] == "user"
    assert int(refused.headers["Retry-After"]) >= 1
    assert Message.objects.count() == before

    # Per IP: cy has a budget of their own, but the address has spent 4 of its 5.
    assert cy_b.post(SEND, json=to_ann).status_code == 201
    by_ip = login(a.url, "cy", factories.PASSWORD).post(SEND, json=to_ann)
    assert by_ip.status_code == 429
    assert by_ip.json()["error"]["details"]["scope"] == "ip"
    assert "Retry-After" in by_ip.headers
    assert Message.objects.count() == before + 1

    # Stream opens: two per user across both processes, the third refused before it starts.
    ann_a, ann_b = login(a.url, "ann", factories.PASSWORD), login(b.url, "ann", factories.PASSWORD)
    for client in (ann_a, ann_b):
        with client.stream(
            "GET", "/api/messaging/stream/acme/", headers={"Accept": "text/event-stream"}
        ) as opened:
            assert opened.status_code == 200
    third = ann_a.get("/api/messaging/stream/acme/", headers={"Accept": "text/event-stream"})
    assert third.status_code == 429
    assert "Retry-After" in third.headers
