"""Broadcasts from the Django admin: exactly the chosen tenants' members receive them, each
with their own read state, one tenant-channel event per tenant, reach and reads shown per
tenant in the admin, and no tenant's copy naming another."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from harbor_messaging.tenants.actions import do_create_global_admin
from harbor_messaging.tenants.models import Membership
from messaging.models import Broadcast, Message, MessageRecipient
from tests import factories
from tests.attachments.conftest import nothing_kept, storage_dir  # noqa: F401  (fixtures)

ADD = "/admin/messaging/broadcast/add/"

# Committed for real, so the events go out on commit as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def three(world: dict[str, Any]) -> dict[str, Any]:
    initech = factories.make_tenant("initech", "Initech")
    world["ivy"] = factories.make_member(initech, "ivy")
    world["ike"] = factories.make_member(initech, "ike", role="tenant_admin")
    world["initech"] = initech
    world["root"] = do_create_global_admin(username="root", password=factories.PASSWORD)
    return world


def _admin(three: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(three["root"])
    return client


def _broadcast(client: Client, **fields: Any) -> Any:
    data = {"subject": "Maintenance", "body": "Down at 9, see https://status.example.org"}
    data.update(fields)
    return client.post(ADD, data)


def _members(tenant: Any) -> set[int]:
    return set(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))


@pytest.mark.parametrize(
    ("chosen", "all_tenants"),
    [(["acme"], False), (["acme", "initech"], False), ([], True)],
)
def test_broadcast_reaches_exactly_the_chosen_tenants_members(
    three: dict[str, Any], published: list[Any], chosen: list[str], all_tenants: bool
) -> None:
    client = _admin(three)
    tenants = [three[s] for s in chosen] or [three["acme"], three["globex"], three["initech"]]
    fields: dict[str, Any] = {"tenants": [t.pk for t in tenants if chosen]}
    if all_tenants:
        fields["all_tenants"] = "on"
    response = _broadcast(client, **fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    broadcast = Broadcast.objects.get()
    assert broadcast.sent_at is not None
    messages = list(Message.objects.filter(broadcast=broadcast))
    assert sorted(m.tenant.slug for m in messages) == sorted(t.slug for t in tenants)
    for message in messages:
        assert message.is_broadcast and message.audience == Message.Audience.BROADCAST
        got = set(
            MessageRecipient.objects.filter(message=message).values_list("user_id", flat=True)
        )
        assert got == _members(message.tenant)
        assert message.recipient_count == len(got)
    # One event on each tenant's channel, not one per member.
    tenant_events = [e for e in published if getattr(e, "to_tenant", False)]
    assert sorted(e.tenant_slug for e in tenant_events) == sorted(t.slug for t in tenants)
    assert all(e.type == "message:new" for e in tenant_events)
    # Untouched tenants got nothing.
    others = {"acme", "globex", "initech"} - {t.slug for t in tenants}
    assert not MessageRecipient.objects.filter(tenant__slug__in=others).exists()


def test_each_recipient_has_their_own_read_state_and_badge(three: dict[str, Any], api: Any) -> None:
    _broadcast(_admin(three), tenants=[three["acme"].pk, three["globex"].pk])
    bo, cy = api(three["bo"]), api(three["cy"])
    inbox = bo.get("/api/messaging/messages", {"tenantId": "acme"}).json()["results"]
    (item,) = inbox
    assert item["isBroadcast"] is True and item["isRead"] is False
    assert bo.get("/api/messaging/unread-count", {"tenantId": "acme"}).json()["count"] == 1
    assert bo.post(f"/api/messaging/messages/{item['id']}/read", {"read": True}).status_code == 200
    assert bo.get("/api/messaging/unread-count", {"tenantId": "acme"}).json()["count"] == 0
    # Cy is in both tenants: a copy in each, both still unread, whatever Bo did.
    counts = cy.get("/api/messaging/unread-count").json()
    assert counts["byTenant"] == {"acme": 1, "globex": 1}


def test_a_tenant_never_sees_which_other_tenants_got_it(three: dict[str, Any], api: Any) -> None:
    _broadcast(_admin(three), all_tenants="on")
    ivy = api(three["ivy"])
    (item,) = ivy.get("/api/messaging/messages", {"tenantId": "initech"}).json()["results"]
    text = json.dumps(ivy.get(f"/api/messaging/messages/{item['id']}").json())
    for other in ("acme", "globex", "Acme Shipping", "Globex"):
        assert other not in text
    names = {r["id"] for r in item["recipients"]}
    assert names <= _members(three["initech"])


def test_the_admin_shows_reach_and_reads_per_tenant(three: dict[str, Any], api: Any) -> None:
    client = _admin(three)
    _broadcast(client, tenants=[three["acme"].pk, three["initech"].pk])
    broadcast = Broadcast.objects.get()
    acme_copy = Message.objects.get(broadcast=broadcast, tenant=three["acme"])
    api(three["bo"]).post(f"/api/messaging/messages/{acme_copy.pk}/read", {"read": True})
    page = client.get(f"/admin/messaging/broadcast/{broadcast.pk}/change/").content.decode()
    assert "<td>Acme Shipping</td><td>3</td><td>1</td><td>33 %</td>" in page
    assert "<td>Initech</td><td>2</td><td>0</td><td>0 %</td>" in page
    listing = client.get("/admin/messaging/broadcast/").content.decode()
    assert "Maintenance" in listing


def test_only_global_admins_may_broadcast(three: dict[str, Any]) -> None:
    staff = User.objects.create_user("staffer", password=factories.PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(ADD).status_code == 403
    client.post(ADD, {"subject": "x", "tenants": [three["acme"].pk]})
    assert not Broadcast.objects.exists()
    member = Client()
    member.force_login(three["ann"])
    assert member.get(ADD).status_code == 302  # To the admin's login: not staff.


def test_thousands_of_recipients_in_bulk(three: dict[str, Any], published: list[Any]) -> None:
    users = User.objects.bulk_create([User(username=f"crowd{i}") for i in range(3000)])
    Membership.objects.bulk_create([Membership(user=u, tenant=three["initech"]) for u in users])
    with CaptureQueriesContext(connection) as queries:
        response = _broadcast(_admin(three), tenants=[three["initech"].pk])
    assert response.status_code == 302
    message = Message.objects.get(tenant=three["initech"])
    assert MessageRecipient.objects.filter(message=message).count() == 3002
    assert len(queries) < 80, len(queries)
    assert len([e for e in published if getattr(e, "to_tenant", False)]) == 1


@pytest.mark.live
def test_a_broadcast_arrives_live_on_the_members_streams_only(
    three: dict[str, Any], live_daphne: Any
) -> None:
    from tests.live import login
    from tests.sse import SSEStream

    root = login(live_daphne.url, "root", factories.PASSWORD)
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    dee = login(live_daphne.url, "dee", factories.PASSWORD)
    with (
        SSEStream(bo, "/api/messaging/stream/acme/") as bo_stream,
        SSEStream(dee, "/api/messaging/stream/globex/") as dee_stream,
    ):
        time.sleep(0.3)
        root.get(ADD)
        sent = root.post(
            ADD,
            data={
                "subject": "Live notice",
                "body": "hello",
                "tenants": [str(three["acme"].pk)],
                "csrfmiddlewaretoken": root.cookies.get("csrftoken") or "",
            },
            headers={"Referer": live_daphne.url + ADD},
        )
        assert sent.status_code == 302, sent.text[:1000]
        (event,) = bo_stream.take(1, timeout=5)
        assert event.event == "message:new"
        message = event.data["data"]["payload"]["message"]
        assert message["isBroadcast"] is True and message["subject"] == "Live notice"
        # Globex was not chosen: its member's open stream gets nothing.
        time.sleep(1)
        assert dee_stream.queue.empty()


@pytest.mark.usefixtures("storage_dir")
def test_a_file_uploaded_in_the_form_is_checked_kept_and_attached(three: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from attachments.models import MessageAttachment
    from harbor_messaging.media.models import MediaFile
    from tests.attachments import files

    client = _admin(three)
    tenants = [three["acme"].pk, three["initech"].pk]
    response = _broadcast(
        client, tenants=tenants, upload=SimpleUploadedFile("plan.pdf", files.pdf())
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    kept = MediaFile.objects.get()
    assert kept.owner == three["root"] and kept.origin == MediaFile.Origin.MEDIA_LIBRARY
    assert kept.name == "plan.pdf" and kept.content_type == "application/pdf"
    assert kept.file.storage.exists(kept.file.name)
    broadcast = Broadcast.objects.get()
    assert list(broadcast.media_files.all()) == [kept]
    attached = MessageAttachment.objects.filter(message__broadcast=broadcast)
    assert sorted(a.message.tenant.slug for a in attached) == ["acme", "initech"]
    assert {a.media_file_id for a in attached} == {kept.pk}


@pytest.mark.parametrize(
    ("name", "content", "shown"),
    [
        ("logo.svg", "svg", b"logo.svg is of a type that may not be attached"),
        ("dock.png", "png", b"dock.png is of a type that may not be attached"),
    ],
    ids=["never allowed", "outside one chosen tenant's list"],
)
@pytest.mark.usefixtures("nothing_kept")
def test_a_refused_upload_refuses_the_form_and_keeps_nothing(
    three: dict[str, Any], name: str, content: str, shown: bytes
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from harbor_messaging.media.models import TenantMediaSettings
    from tests.attachments import files

    TenantMediaSettings.objects.create(tenant=three["initech"], allowed_types=["application/pdf"])
    data = files.SVG_WITH_SCRIPT if content == "svg" else files.png()
    response = _broadcast(
        _admin(three),
        tenants=[three["acme"].pk, three["initech"].pk],
        upload=SimpleUploadedFile(name, data),
    )
    assert response.status_code == 200
    assert shown in response.content
    assert not Broadcast.objects.exists()
    assert not Message.objects.exists()
