"""Whole-tenant messages: the event first, the members' rows after it, and every read right
in between (messaging/delivery.py).

Tests on the plain ``db`` fixture never commit, so a send's on-commit work never runs: for
them a whole-tenant message stays pending, as it would if the process died between the
send's commit and its rows. Tests marked ``transaction=True`` commit for real.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import tenant_access
from messaging import actions, delivery
from messaging.models import Message, MessageRecipient
from messaging.publishers.memory import MemoryPublisher
from messaging.selectors import unread_count_for
from tests import factories
from tests.threads import run_together

from .expect import error

LIST = "/api/messaging/messages"
COUNT = "/api/messaging/unread-count"
STATS = "/api/messaging/stats"


def _send_all(sender: User, tenant: Tenant, subject: str = "All hands") -> Message:
    """A whole-tenant send through the action itself (the factory also stores the rows)."""
    return actions.do_send_message(
        sender=sender,
        access=tenant_access(sender, tenant.slug),
        recipient_ids=actions.ALL,
        subject=subject,
        body="Body",
    )


def _rows(message: Message) -> dict[int, Any]:
    return dict(MessageRecipient.objects.filter(message=message).values_list("user_id", "read_at"))


def _undelivered(tenant: Tenant) -> int:
    return Tenant.objects.get(pk=tenant.pk).undelivered_messages


# -- the send --------------------------------------------------------------------------------


def test_a_whole_tenant_send_stores_no_rows_and_counts_itself_pending(
    world: dict[str, Any],
) -> None:
    acme = world["acme"]
    message = _send_all(world["ann"], acme)
    assert _rows(message) == {}
    stored = Message.objects.get(pk=message.pk)
    assert stored.fanout_pending is True
    assert stored.recipient_count == 2  # bo and cy, not the sender
    assert _undelivered(acme) == 1
    assert _undelivered(world["globex"]) == 0


@pytest.mark.django_db(transaction=True)
def test_the_event_is_published_before_the_rows_and_the_rows_follow(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows_at_publish: list[int] = []
    publish = MemoryPublisher.publish

    def noting(self: MemoryPublisher, prepared: Any) -> None:
        rows_at_publish.append(MessageRecipient.objects.count())
        publish(self, prepared)

    monkeypatch.setattr(MemoryPublisher, "publish", noting)
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    message = _send_all(ann, acme)
    assert rows_at_publish == [0]
    assert set(_rows(message)) == {bo.pk, cy.pk}
    assert Message.objects.get(pk=message.pk).fanout_pending is False
    assert _undelivered(acme) == 0


@pytest.mark.django_db(transaction=True)
def test_an_admin_broadcast_is_delivered_after_its_commit_in_every_tenant(
    world: dict[str, Any],
) -> None:
    from messaging.broadcasts import do_send_broadcast
    from messaging.models import Broadcast

    root = User.objects.create_superuser("root", password="x")
    broadcast = Broadcast.objects.create(sender=root, subject="Maintenance", all_tenants=True)
    sent = {m.tenant.slug: m for m in do_send_broadcast(user=root, broadcast=broadcast)}
    assert set(_rows(sent["acme"])) == {world["ann"].pk, world["bo"].pk, world["cy"].pk}
    assert set(_rows(sent["globex"])) == {world["cy"].pk, world["dee"].pk}
    assert [m.recipient_count for m in (sent["acme"], sent["globex"])] == [3, 2]
    assert Tenant.objects.filter(undelivered_messages__gt=0).count() == 0


# -- reads before the rows -------------------------------------------------------------------


def test_every_read_counts_a_pending_message(world: dict[str, Any], api: Any) -> None:
    acme, bo = world["acme"], world["bo"]
    message = _send_all(world["ann"], acme)
    client = api(bo)
    page = client.get(LIST, {"tenantId": "acme"}).json()["results"]
    assert [m["id"] for m in page] == [message.pk]
    assert page[0]["isRead"] is False
    assert client.get(COUNT, {"tenantId": "acme"}).json()["count"] == 1
    assert client.get(COUNT).json() == {"count": 1, "byTenant": {"acme": 1}}
    assert client.get(STATS, {"tenantId": "acme"}).json()["unread"] == 1
    # Only bo's own row was stored: cy's waits for cy's own read, or the delivery.
    assert set(_rows(message)) == {bo.pk}


@pytest.mark.parametrize(
    "call",
    ["detail", "thread", "read", "delete", "read_all", "unread_total", "page", "badge"],
)
def test_each_way_in_finds_a_pending_message(world: dict[str, Any], api: Any, call: str) -> None:
    cy = world["cy"]
    message = _send_all(world["ann"], world["acme"])
    client = api(cy)
    base = f"/api/messaging/messages/{message.pk}"
    if call == "detail":
        assert client.get(base).json()["id"] == message.pk
    elif call == "thread":
        results = client.get(f"/api/messaging/threads/{message.pk}").json()["results"]
        assert [m["id"] for m in results] == [message.pk]
    elif call == "read":
        assert client.post(f"{base}/read", {"read": True}).json()["isRead"] is True
        assert client.get(COUNT, {"tenantId": "acme"}).json()["count"] == 0
    elif call == "delete":
        assert client.delete(base).status_code == 204
        assert client.get(LIST, {"tenantId": "acme"}).json()["results"] == []
    elif call == "read_all":
        response = client.post("/api/messaging/messages/read-all", {"tenantId": "acme"})
        assert response.json() == {"updated": 1}
    elif call == "unread_total":
        assert client.get(COUNT).json()["byTenant"] == {"acme": 1, "globex": 0}
    elif call == "page":
        html = client.get("/en/harbor/messaging/").content.decode()
        assert "All hands" in html
    elif call == "badge":
        html = client.get("/en/harbor/").content.decode()
        assert 'data-count="1"' in html
    assert set(_rows(message)) == {cy.pk}


def test_only_its_receivers_find_it(world: dict[str, Any], api: Any) -> None:
    acme, ann, dee = world["acme"], world["ann"], world["dee"]
    gone = factories.make_member(acme, "gone")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    message = _send_all(ann, acme)
    late = factories.make_member(acme, "late")  # joined after it was sent
    for user in (late, dee):
        client = api(user)
        error(client.get(f"/api/messaging/messages/{message.pk}"), 404, "not_found")
    assert api(late).get(LIST, {"tenantId": "acme"}).json()["results"] == []
    assert api(late).get(COUNT, {"tenantId": "acme"}).json()["count"] == 0
    # The sender sees it as sent, never in the inbox.
    assert api(ann).get(LIST, {"tenantId": "acme"}).json()["results"] == []
    assert api(ann).get(f"/api/messaging/messages/{message.pk}").json()["isSender"] is True
    assert _rows(message) == {}
    assert message.recipient_count == 2  # bo and cy: not the inactive member, nor late
    delivery.do_deliver_message(message.pk)
    assert set(_rows(message)) == {world["bo"].pk, world["cy"].pk}


def test_a_direct_sends_counts_include_pending_messages(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    acme, bo, cy = world["acme"], world["bo"], world["cy"]
    _send_all(world["ann"], acme)
    MemoryPublisher.clear()
    with django_capture_on_commit_callbacks() as callbacks:
        factories.send(bo, acme, [cy])
    for callback in callbacks:
        callback()
    counts = {e.user_ids[0]: e.payload["unreadCount"] for e in MemoryPublisher.published}
    assert counts == {bo.pk: 1, cy.pk: 2}


# -- the delivery ----------------------------------------------------------------------------


def test_the_delivery_keeps_what_readers_stored_and_runs_once(
    world: dict[str, Any], api: Any
) -> None:
    acme, bo, cy = world["acme"], world["bo"], world["cy"]
    message = _send_all(world["ann"], acme)
    api(bo).post(f"/api/messaging/messages/{message.pk}/read", {"read": True})
    read_at = _rows(message)[bo.pk]
    assert read_at is not None
    assert delivery.do_deliver_message(message.pk) == 1  # cy's only
    assert _rows(message) == {bo.pk: read_at, cy.pk: None}
    assert _undelivered(acme) == 0
    assert delivery.do_deliver_message(message.pk) == 0
    assert _undelivered(acme) == 0
    assert api(cy).get(COUNT, {"tenantId": "acme"}).json()["count"] == 1


def test_a_message_deleted_before_its_rows_gets_none(world: dict[str, Any], api: Any) -> None:
    acme = world["acme"]
    message = _send_all(world["ann"], acme)
    assert api(world["ann"]).delete(f"/api/messaging/messages/{message.pk}").status_code == 204
    assert delivery.do_deliver_message(message.pk) == 0
    assert _rows(message) == {}
    assert _undelivered(acme) == 0
    assert api(world["bo"]).get(COUNT, {"tenantId": "acme"}).json()["count"] == 0
    assert api(world["bo"]).get(LIST, {"tenantId": "acme"}).json()["results"] == []


def test_the_cleanup_command_delivers_what_a_crash_left(world: dict[str, Any]) -> None:
    from io import StringIO

    acme = world["acme"]
    first, second = _send_all(world["ann"], acme), _send_all(world["ann"], acme, "Again")
    assert _undelivered(acme) == 2
    out = StringIO()
    call_command("cleanup", "--deliveries", stdout=out)
    assert "deliveries: stored the rows of 2 whole-tenant messages left pending" in out.getvalue()
    assert set(_rows(first)) == set(_rows(second)) == {world["bo"].pk, world["cy"].pk}
    assert _undelivered(acme) == 0


def _left_pending(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Message, list[Any]]:
    """A whole-tenant message to 32 members, committed, whose sender's process "died" before
    storing the rows; and a reader of each crowd member's unread count, for run_together."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only (SQLite takes one writer at a time)")
    acme = world["acme"]
    members = [factories.make_member(acme, f"crowd{i}") for i in range(30)]
    monkeypatch.setattr(delivery, "do_deliver_message", lambda message_id: 0)
    message = _send_all(world["ann"], acme)
    monkeypatch.undo()
    assert _undelivered(acme) == 1

    def reader(user: User) -> Any:
        return lambda: unread_count_for(user.pk, Tenant.objects.get(pk=acme.pk))

    return message, [reader(u) for u in members]


@pytest.mark.django_db(transaction=True)
def test_readers_racing_the_delivery_store_each_row_once(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    message, readers = _left_pending(world, monkeypatch)
    errors = run_together([lambda: delivery.do_deliver_message(message.pk), *readers])
    assert errors == []
    assert len(_rows(message)) == 32
    assert MessageRecipient.objects.filter(message=message).count() == 32
    assert _undelivered(world["acme"]) == 0


@pytest.mark.django_db(transaction=True)
def test_readers_racing_a_delete_for_everyone_keep_no_live_row(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    message, readers = _left_pending(world, monkeypatch)
    errors = run_together(
        [
            lambda: actions.do_delete_message(user=world["ann"], message_id=message.pk),
            lambda: delivery.do_deliver_message(message.pk),
            *readers,
        ]
    )
    assert errors == []
    assert not MessageRecipient.objects.filter(message=message, deleted_at__isnull=True).exists()
    assert _undelivered(world["acme"]) == 0
    assert MessageRecipient.objects.filter(message=message).count() <= 32
    acme = Tenant.objects.get(pk=world["acme"].pk)
    crowd = User.objects.filter(username__startswith="crowd")
    assert [unread_count_for(u.pk, acme) for u in crowd] == [0] * 30


# -- in a server that holds streams: the rows after this process's fan-out --------------------


class _BlockedLoop:
    """An event loop in a thread of its own, held busy until ``release``: a server whose
    fan-out of the event has not finished yet."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.gate = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.loop.call_soon_threadsafe(self.gate.wait)

    def release(self) -> None:
        self.gate.set()

    def close(self) -> None:
        self.gate.set()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _wait_for(check: Any, seconds: float = 10) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("released", [True, False])
def test_with_streams_held_the_rows_wait_for_the_fanout(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, released: bool
) -> None:
    from messaging import relay

    blocked = _BlockedLoop()
    monkeypatch.setattr(relay, "holds_streams", lambda: True)
    monkeypatch.setattr(delivery, "FANOUT_WAIT_SECONDS", 1.0 if not released else 30.0)
    relay._fanout_loops.add(blocked.loop)
    try:
        message = _send_all(world["ann"], world["acme"])
        # The send returned without the rows: they wait for the loop's fan-out.
        assert _rows(message) == {}
        assert Message.objects.get(pk=message.pk).fanout_pending is True
        if released:
            assert not _wait_for(lambda: bool(_rows(message)), 0.3)
            blocked.release()
        # Released, or past the longest wait: the worker stores them.
        assert _wait_for(lambda: len(_rows(message)) == 2)
        assert _wait_for(lambda: _undelivered(world["acme"]) == 0)
    finally:
        relay._fanout_loops.discard(blocked.loop)
        blocked.close()


@pytest.mark.django_db(transaction=True)
def test_whole_tenant_and_direct_sends_racing_their_deliveries_all_land(
    world: dict[str, Any],
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only (SQLite takes one writer at a time)")
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    crowd = [factories.make_member(acme, f"crowd{i}") for i in range(20)]
    factories.make_member(acme, "boss", role="tenant_admin")
    boss = User.objects.get(username="boss")

    def tenant_send(sender: User, n: int) -> Any:
        return lambda: _send_all(sender, acme, f"all {n}")

    def direct_send(sender: User, to: list[User], n: int) -> Any:
        return lambda: factories.send(sender, acme, to, subject=f"direct {n}")

    def read_all(user: User) -> Any:
        return lambda: actions.do_mark_all_read(user=user, access=tenant_access(user, "acme"))

    errors = run_together(
        [tenant_send(ann, n) for n in range(3)]
        + [tenant_send(boss, n) for n in range(3, 6)]
        + [direct_send(bo, [cy, *crowd[:5]], n) for n in range(3)]
        + [direct_send(cy, [bo], n) for n in range(3, 6)]
        + [read_all(u) for u in crowd[5:10]]
    )
    assert errors == []
    assert _undelivered(acme) == 0
    assert not Message.objects.filter(fanout_pending=True).exists()
    for message in Message.objects.filter(audience=Message.Audience.TENANT):
        # Every member but its sender: 2 of the world, 20 of the crowd, the other admin.
        assert MessageRecipient.objects.filter(message=message).count() == 23
