"""The events each action hands to the publisher: after commit only, to whom, with what payload."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from harbor_messaging.errors import Forbidden, InvalidInput
from harbor_messaging.tenants.selectors import tenant_access
from messaging import actions
from messaging.events import MessageEvent
from messaging.models import Message, MessageRecipient
from tests import factories

from .expect import ISO_Z, message_shape

pytestmark = pytest.mark.django_db(transaction=True)


def _by_user(published: list[MessageEvent]) -> dict[int, MessageEvent]:
    out: dict[int, MessageEvent] = {}
    for event in published:
        assert not event.to_tenant
        (uid,) = event.user_ids
        assert uid not in out
        out[uid] = event
    return out


def _wire_shape(event: MessageEvent) -> None:
    wire = event.wire()
    assert set(wire) == {"type", "data"}
    assert wire["type"] == event.type
    assert set(wire["data"]) == {"messageId", "tenantId", "timestamp", "payload"}
    assert wire["data"]["tenantId"] == event.tenant_slug
    assert ISO_Z.match(wire["data"]["timestamp"])


# -- send --------------------------------------------------------------------------------------


def test_send_direct_gives_each_recipient_their_view_and_absolute_count(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    factories.send(cy, acme, [ann])  # ann has one unread already
    factories.send(ann, acme, [bo])  # and so has the sender, which the send leaves as it is
    published.clear()
    message = factories.send(bo, acme, [ann, cy], subject="Crane", body="at six")
    events = _by_user(published)
    assert set(events) == {bo.pk, ann.pk, cy.pk}
    for event in events.values():
        assert event.type == "message:new"
        assert event.tenant_slug == "acme"
        assert event.message_id == message.pk
        assert set(event.payload) == {"message", "unreadCount"}
        message_shape(event.payload["message"])
        assert event.payload["message"]["id"] == message.pk
        assert event.payload["message"]["subject"] == "Crane"
        _wire_shape(event)
    assert events[ann.pk].payload["unreadCount"] == 2
    assert events[cy.pk].payload["unreadCount"] == 1
    assert events[bo.pk].payload["unreadCount"] == 1
    for uid in (ann.pk, cy.pk):
        seen = events[uid].payload["message"]
        assert seen["isRead"] is False and seen["readAt"] is None and seen["isSender"] is False
    assert events[bo.pk].payload["message"]["isSender"] is True
    assert [r["id"] for r in events[ann.pk].payload["message"]["recipients"]] == [ann.pk, cy.pk]


def test_send_to_all_is_one_tenant_event_without_count_plus_the_senders(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    ann = world["ann"]
    message = factories.send(ann, world["acme"], "all", subject="All hands")
    assert len(published) == 2
    own, tenant_wide = published
    assert own.type == tenant_wide.type == "message:new"
    assert own.user_ids == (ann.pk,) and not own.to_tenant
    assert own.payload["unreadCount"] == 0
    assert own.payload["message"]["isSender"] is True
    assert tenant_wide.to_tenant and tenant_wide.user_ids == ()
    assert tenant_wide.tenant_slug == "acme"
    assert set(tenant_wide.payload) == {"message"}
    assert tenant_wide.payload["message"]["id"] == message.pk
    assert tenant_wide.payload["message"]["isSender"] is False
    assert tenant_wide.payload["message"]["recipients"] == []


def test_send_to_all_reaches_every_other_active_member_once(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    from django.contrib.auth.models import User

    User.objects.filter(pk=world["bo"].pk).update(is_active=False)
    message = factories.send(world["ann"], world["acme"], "all")
    # cy is in two tenants, bo is deactivated, ann sent it: only cy, once, in acme.
    rows = list(MessageRecipient.objects.filter(message=message).values("user_id", "tenant_id"))
    assert rows == [{"user_id": world["cy"].pk, "tenant_id": world["acme"].pk}]
    message.refresh_from_db()
    assert message.recipient_count == 1


def test_send_to_all_with_nobody_else_changes_nothing(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    lonely = factories.make_tenant("lonely")
    admin = factories.make_member(lonely, "solo", role="tenant_admin")
    before = Message.objects.count()
    with pytest.raises(InvalidInput) as raised:
        factories.send(admin, lonely, "all")
    assert raised.value.details["field"] == "recipientIds"
    assert Message.objects.count() == before
    assert published == []


def test_events_wait_for_the_commit(world: dict[str, Any], published: list[MessageEvent]) -> None:
    with transaction.atomic():
        factories.send(world["bo"], world["acme"], [world["ann"]])
        assert published == []
        with transaction.atomic():
            factories.send(world["bo"], world["acme"], [world["cy"]])
        assert published == []
    assert len(published) == 4


def test_nothing_is_published_when_the_transaction_rolls_back(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]])
    published.clear()
    access = tenant_access(world["bo"], "acme")
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.send(world["bo"], world["acme"], [world["ann"]])
        actions.do_edit_message(user=world["bo"], message_id=message.pk, subject="x", body=None)
        actions.do_mark_read(user=world["ann"], message_id=message.pk, read=True)
        actions.do_mark_all_read(user=world["ann"], access=access)
        actions.do_delete_message(user=world["bo"], message_id=message.pk)
        raise RuntimeError("the caller fails after the actions")
    assert published == []
    assert Message.objects.count() == 1
    assert MessageRecipient.objects.get().read_at is None


def test_a_savepoint_rolled_back_drops_only_its_events(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    with transaction.atomic():
        kept = factories.send(world["bo"], world["acme"], [world["ann"]])
        with pytest.raises(RuntimeError), transaction.atomic():
            factories.send(world["bo"], world["acme"], [world["cy"]])
            raise RuntimeError
    assert {e.message_id for e in published} == {kept.pk}


@pytest.mark.django_db(transaction=True)
def test_a_direct_send_whose_one_statement_fails_keeps_nothing(
    world: dict[str, Any], published: list[MessageEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL a plain direct message is written by one statement with no transaction
    # around it (actions._send_direct_at_once): the message, its rows and its stored
    # events stand or fall together. Here its events cannot be stored (a channel name
    # longer than the column), so the statement fails, committed nothing, and told no one.
    from django.db import DatabaseError, connection

    from messaging.models import StreamEvent
    from messaging.publishers import eventstream

    if connection.vendor != "postgresql":
        pytest.skip("the one-statement send is PostgreSQL's")
    factories.send(world["bo"], world["acme"], [world["ann"]])
    published.clear()

    def rows() -> tuple[int, int, int]:
        tables = (Message, MessageRecipient, StreamEvent)
        return tuple(model.objects.count() for model in tables)  # type: ignore[return-value]

    before = rows()
    monkeypatch.setattr(eventstream, "user_channel", lambda uid, slug: "u" * 200)
    with pytest.raises(DatabaseError):
        factories.send(world["bo"], world["acme"], [world["ann"], world["cy"]])
    assert rows() == before
    assert published == []
    monkeypatch.undo()
    # The connection is fine afterwards: the next send goes through.
    factories.send(world["bo"], world["acme"], [world["cy"]])
    assert Message.objects.count() == before[0] + 1


@pytest.mark.parametrize(
    ("to", "error"),
    [("all", Forbidden), ([], InvalidInput)],
)
def test_a_refused_send_publishes_nothing(
    world: dict[str, Any], published: list[MessageEvent], to: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        factories.send(world["bo"], world["acme"], to)
    assert published == []


# -- edit --------------------------------------------------------------------------------------


def test_edit_sends_the_changed_fields_to_sender_and_recipients(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    message = factories.send(bo, acme, [ann, cy], subject="Old", body="old body")
    actions.do_delete_message(user=cy, message_id=message.pk)  # cy is out of it now
    published.clear()
    actions.do_edit_message(user=bo, message_id=message.pk, subject="New", body="see www.x.org")
    (event,) = published
    assert event.type == "message:update"
    assert event.message_id == message.pk
    assert set(event.user_ids) == {bo.pk, ann.pk}
    assert not event.to_tenant
    assert set(event.payload) == {"subject", "body", "bodyHtml", "editedAt", "updatedAt", "links"}
    assert [link["url"] for link in event.payload["links"]] == ["http://www.x.org"]
    assert event.payload["subject"] == "New"
    assert event.payload["body"] == "see www.x.org"
    assert "<a " in event.payload["bodyHtml"]
    assert ISO_Z.match(event.payload["editedAt"])
    _wire_shape(event)
    published.clear()
    actions.do_edit_message(user=bo, message_id=message.pk, subject="Newer", body=None)
    (only_subject,) = published
    assert set(only_subject.payload) == {"subject", "editedAt", "updatedAt"}


def test_an_edit_that_changes_nothing_sends_nothing(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], subject="S", body="B")
    published.clear()
    actions.do_edit_message(user=world["bo"], message_id=message.pk, subject="S", body="B")
    assert published == []


def test_edit_of_a_tenant_wide_message_goes_to_the_tenant(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    message = factories.send(world["ann"], world["acme"], "all", body="v1")
    published.clear()
    actions.do_edit_message(user=world["ann"], message_id=message.pk, subject=None, body="v2")
    assert len(published) == 2
    own, tenant_wide = published
    assert own.user_ids == (world["ann"].pk,)
    assert tenant_wide.to_tenant and tenant_wide.tenant_slug == "acme"
    assert own.payload == tenant_wide.payload


def test_a_refused_edit_publishes_nothing(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]])
    published.clear()
    with pytest.raises(Forbidden):
        actions.do_edit_message(user=world["ann"], message_id=message.pk, subject="x", body=None)
    assert published == []


# -- delete ------------------------------------------------------------------------------------


def test_delete_for_everyone_tells_each_with_scope_and_count(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    other = factories.send(cy, acme, [ann])
    message = factories.send(bo, acme, [ann, cy])
    actions.do_mark_read(user=cy, message_id=message.pk, read=True)
    published.clear()
    assert actions.do_delete_message(user=bo, message_id=message.pk) == "everyone"
    events = _by_user(published)
    assert set(events) == {bo.pk, ann.pk, cy.pk}
    for event in events.values():
        assert event.type == "message:delete"
        assert event.message_id == message.pk
        assert set(event.payload) == {"scope", "unreadCount"}
        assert event.payload["scope"] == "everyone"
        _wire_shape(event)
    assert events[ann.pk].payload["unreadCount"] == 1  # only `other` is left
    assert events[cy.pk].payload["unreadCount"] == 0
    assert events[bo.pk].payload["unreadCount"] == 0
    assert other.pk != message.pk


def test_delete_for_everyone_of_a_tenant_wide_message(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    message = factories.send(world["ann"], world["acme"], "all")
    published.clear()
    actions.do_delete_message(user=world["ann"], message_id=message.pk)
    own, tenant_wide = published
    assert own.user_ids == (world["ann"].pk,)
    assert own.payload == {"scope": "everyone", "unreadCount": 0}
    assert tenant_wide.to_tenant
    assert tenant_wide.payload == {"scope": "everyone"}


def test_delete_for_me_tells_only_me(world: dict[str, Any], published: list[MessageEvent]) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    message = factories.send(bo, acme, [ann, world["cy"]])
    factories.send(bo, acme, [ann])
    published.clear()
    assert actions.do_delete_message(user=ann, message_id=message.pk) == "me"
    (event,) = published
    assert event.type == "message:delete"
    assert event.user_ids == (ann.pk,)
    assert event.payload == {"scope": "me", "unreadCount": 1}
    _wire_shape(event)


# -- read state --------------------------------------------------------------------------------


def test_read_and_unread_tell_the_reader_only(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    message = factories.send(bo, acme, [ann, world["cy"]])
    factories.send(bo, acme, [ann])
    published.clear()
    actions.do_mark_read(user=ann, message_id=message.pk, read=True)
    (read,) = published
    assert read.type == "message:read"
    assert read.user_ids == (ann.pk,)
    assert read.message_id == message.pk
    assert set(read.payload) == {"read", "readAt", "unreadCount"}
    assert read.payload["read"] is True
    assert ISO_Z.match(read.payload["readAt"])
    assert read.payload["unreadCount"] == 1
    _wire_shape(read)
    published.clear()
    # Already read: no change, no event.
    actions.do_mark_read(user=ann, message_id=message.pk, read=True)
    assert published == []
    actions.do_mark_read(user=ann, message_id=message.pk, read=False)
    (unread,) = published
    assert unread.payload == {"read": False, "readAt": None, "unreadCount": 2}


def test_read_all_is_one_event_with_the_new_count(
    world: dict[str, Any], published: list[MessageEvent]
) -> None:
    acme, globex, cy = world["acme"], world["globex"], world["cy"]
    for _ in range(3):
        factories.send(world["bo"], acme, [cy])
    factories.send(world["dee"], globex, [cy])
    published.clear()
    assert actions.do_mark_all_read(user=cy, access=tenant_access(cy, "acme")) == 3
    (event,) = published
    assert event.type == "message:read"
    assert event.user_ids == (cy.pk,)
    assert event.tenant_slug == "acme"
    assert event.message_id is None
    assert set(event.payload) == {"read", "readAt", "unreadCount", "all"}
    assert event.payload["read"] is True and event.payload["all"] is True
    assert event.payload["unreadCount"] == 0
    assert ISO_Z.match(event.payload["readAt"])
    _wire_shape(event)
    published.clear()
    assert actions.do_mark_all_read(user=cy, access=tenant_access(cy, "acme")) == 0
    assert published == []


def test_events_stay_in_their_tenant(world: dict[str, Any], published: list[MessageEvent]) -> None:
    cy, dee = world["cy"], world["dee"]
    message = factories.send(dee, world["globex"], [cy])
    actions.do_mark_read(user=cy, message_id=message.pk, read=True)
    actions.do_edit_message(user=dee, message_id=message.pk, subject="x", body=None)
    actions.do_delete_message(user=dee, message_id=message.pk)
    assert {e.tenant_slug for e in published} == {"globex"}
    assert {uid for e in published for uid in e.user_ids} == {cy.pk, dee.pk}
