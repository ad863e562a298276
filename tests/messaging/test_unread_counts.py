"""Unread counts kept by the database's triggers (migration 0007, messaging/counts.py).

Every test on the ``world`` fixture also checks, as it ends, that the counts equal the
unread rows (tests/conftest.py); these tests go through each kind of change on purpose,
then the folding, the clean-up, the migration's backfill and concurrent writers.
"""

from __future__ import annotations

import random
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from harbor_messaging.tenants.models import Tenant
from harbor_messaging.tenants.selectors import tenant_access
from messaging import actions, counts
from messaging.models import MessageRecipient, UnreadCount
from messaging.selectors import unread_count_for, unread_counts_by_tenant
from tests import factories
from tests.migrations import migrate, migrate_to_latest
from tests.threads import run_together


def _unread(user: User, tenant: Tenant) -> int:
    return unread_count_for(user.pk, Tenant.objects.get(pk=tenant.pk))


def _rows(user: User, tenant: Tenant) -> int:
    return UnreadCount.objects.filter(user=user, tenant=tenant).count()


def test_every_kind_of_change_moves_the_count_and_nothing_drifts(world: dict[str, Any]) -> None:
    acme, ann, bo, cy = world["acme"], world["ann"], world["bo"], world["cy"]
    first = factories.send(ann, acme, [bo, cy])
    second = factories.send(cy, acme, [bo])
    factories.send(ann, acme, "all")  # the whole tenant: bo and cy, rows stored after
    assert (_unread(bo, acme), _unread(cy, acme), _unread(ann, acme)) == (3, 2, 0)
    assert counts.drift() == []

    actions.do_mark_read(user=bo, message_id=first.pk, read=True)
    assert _unread(bo, acme) == 2
    actions.do_mark_read(user=bo, message_id=first.pk, read=True)  # already read: no change
    assert _unread(bo, acme) == 2
    actions.do_mark_read(user=bo, message_id=first.pk, read=False)
    assert _unread(bo, acme) == 3
    actions.do_delete_message(user=bo, message_id=second.pk)  # from bo's own inbox
    assert _unread(bo, acme) == 2
    actions.do_delete_message(user=ann, message_id=first.pk)  # the sender: for everyone
    assert (_unread(bo, acme), _unread(cy, acme)) == (1, 1)
    assert actions.do_mark_all_read(user=cy, access=tenant_access(cy, "acme")) == 1
    assert _unread(cy, acme) == 0
    assert counts.drift() == []

    # Writes that go round the actions: an ORM bulk update, a raw delete, a deleted user.
    factories.send(ann, acme, [bo, cy])
    MessageRecipient.objects.filter(user=bo).update(read_at=timezone.now())
    assert _unread(bo, acme) == 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM messaging_messagerecipient WHERE user_id = %s", [cy.pk])
    assert _unread(cy, acme) == 0
    factories.send(ann, acme, [bo])
    factories.send(cy, acme, [bo])
    User.objects.filter(pk=ann.pk).delete()  # the sender's messages, with their rows
    assert _unread(bo, acme) == 1
    User.objects.filter(pk=bo.pk).delete()  # a recipient with an unread message
    assert counts.drift() == []
    assert counts.counts_for([bo.pk], acme.pk) == {bo.pk: 0}


def test_counts_are_per_tenant(world: dict[str, Any]) -> None:
    acme, globex, cy = world["acme"], world["globex"], world["cy"]
    factories.send(world["ann"], acme, [cy])
    factories.send(world["dee"], globex, [cy])
    factories.send(world["dee"], globex, [cy])
    assert unread_counts_by_tenant(cy) == {"acme": 1, "globex": 2}
    assert (_unread(cy, acme), _unread(cy, globex)) == (1, 2)


@pytest.fixture
def fold_at_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counts, "FOLD_AT", 4)


@pytest.mark.usefixtures("fold_at_4")
def test_a_read_folds_a_users_rows_once_they_pile_up(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    acme, ann, bo = world["acme"], world["ann"], world["bo"]
    sent = [factories.send(ann, acme, [bo], subject=f"n{i}") for i in range(counts.FOLD_AT)]
    actions.do_mark_read(user=bo, message_id=sent[0].pk, read=True)
    # The same count in FOLD_AT + 1 rows (the sends' own reads may have folded already).
    UnreadCount.objects.filter(user=bo).delete()
    UnreadCount.objects.bulk_create(
        [UnreadCount(user=bo, tenant=acme, n=counts.FOLD_AT - 1)]
        + [UnreadCount(user=bo, tenant=acme, n=0) for _ in range(counts.FOLD_AT)]
    )
    assert _rows(bo, acme) == counts.FOLD_AT + 1
    # The test runs in a transaction, so the fold comes as it commits.
    with django_capture_on_commit_callbacks(execute=True):
        assert _unread(bo, acme) == counts.FOLD_AT - 1
    assert _rows(bo, acme) == 1
    assert UnreadCount.objects.get(user=bo, tenant=acme).n == counts.FOLD_AT - 1
    assert _unread(bo, acme) == counts.FOLD_AT - 1


@pytest.mark.usefixtures("fold_at_4")
def test_inside_a_transaction_the_fold_waits_for_the_commit(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    acme, bo = world["acme"], world["bo"]
    for _ in range(counts.FOLD_AT + 1):
        factories.send(world["ann"], acme, [bo])
    UnreadCount.objects.filter(user=bo).delete()
    UnreadCount.objects.bulk_create(
        [UnreadCount(user=bo, tenant=acme, n=1) for _ in range(counts.FOLD_AT + 1)]
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        assert _unread(bo, acme) == counts.FOLD_AT + 1
        assert _rows(bo, acme) == counts.FOLD_AT + 1  # not yet
    assert len(callbacks) == 1
    assert _rows(bo, acme) == 1
    assert _unread(bo, acme) == counts.FOLD_AT + 1


def test_drift_names_a_count_the_triggers_did_not_write(world: dict[str, Any]) -> None:
    acme, bo = world["acme"], world["bo"]
    factories.send(world["ann"], acme, [bo])
    assert counts.drift() == []
    stray = UnreadCount.objects.create(user=bo, tenant=acme, n=2)
    assert counts.drift() == [(bo.pk, acme.pk, 1, 3)]
    stray.delete()


def test_cleanup_folds_every_users_rows(world: dict[str, Any]) -> None:
    acme, globex = world["acme"], world["globex"]
    for user, tenant in ((world["bo"], acme), (world["cy"], acme), (world["cy"], globex)):
        UnreadCount.objects.bulk_create([UnreadCount(user=user, tenant=tenant, n=1)] * 3)
    UnreadCount.objects.create(user=world["bo"], tenant=acme, n=-1)
    gone = factories.make_member(acme, "gone")
    UnreadCount.objects.create(user=gone, tenant=acme, n=0)
    User.objects.filter(pk=gone.pk).delete()  # a deleted user's rows go
    out = StringIO()
    call_command("cleanup", "--counts", stdout=out)
    assert "folded the unread count rows of 3 users" in out.getvalue()
    assert sorted(UnreadCount.objects.values_list("user__username", "tenant__slug", "n")) == [
        ("bo", "acme", 2),
        ("cy", "acme", 3),
        ("cy", "globex", 3),
    ]
    UnreadCount.objects.all().delete()  # they stood for no rows


def test_recount_sets_drifted_counts_right(world: dict[str, Any]) -> None:
    acme, bo, cy = world["acme"], world["bo"], world["cy"]
    factories.send(world["ann"], acme, [bo, cy])
    factories.send(world["ann"], acme, [bo])
    UnreadCount.objects.filter(user=bo).delete()  # as after a load with the triggers off
    UnreadCount.objects.create(user=cy, tenant=acme, n=5)
    assert counts.drift() == [(bo.pk, acme.pk, 2, 0), (cy.pk, acme.pk, 1, 6)]
    out = StringIO()
    call_command("cleanup", "--recount", stdout=out)
    assert "set right the unread counts of 2 users" in out.getvalue()
    assert counts.drift() == []
    assert (_unread(bo, acme), _unread(cy, acme)) == (2, 1)
    assert UnreadCount.objects.filter(user=cy).count() == 3  # the stray row stays, offset


def test_after_a_flush_with_no_recipient_rows_no_count_rows_stay(world: dict[str, Any]) -> None:
    factories.send(world["ann"], world["acme"], [world["bo"]])
    counts.clear_if_no_rows()  # recipient rows exist: the counts stay
    assert _unread(world["bo"], world["acme"]) == 1
    # As flush can leave them on SQLite: the count rows gone first, then the recipients'
    # deletes written back as negative counts by the triggers.
    UnreadCount.objects.all().delete()
    MessageRecipient.objects.all().delete()
    assert UnreadCount.objects.filter(n__lt=0).exists()
    counts.clear_if_no_rows()
    assert not UnreadCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_reads_and_folds_neither_wait_on_each_other_nor_drift(
    world: dict[str, Any],
) -> None:
    """Writers in any order: counters updated in place deadlocked here (the event store's
    channel rows and the counters, locked in opposite orders by a send and a mark-read)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only (SQLite takes one writer at a time)")
    acme = world["acme"]
    people = [world["ann"], world["bo"], world["cy"]] + [
        factories.make_member(acme, f"crew{i}") for i in range(5)
    ]

    def worker(seed: int) -> Any:
        def run() -> None:
            rng = random.Random(seed)
            for _ in range(12):
                sender = rng.choice(people)
                others = [p for p in people if p.pk != sender.pk]
                to = rng.sample(others, rng.randint(1, 4))
                message = factories.send(sender, acme, to)
                reader = rng.choice(to)
                actions.do_mark_read(user=reader, message_id=message.pk, read=True)
                if rng.random() < 0.3:
                    actions.do_mark_all_read(user=reader, access=tenant_access(reader, "acme"))
                counts.fold(acme.pk, [p.pk for p in people])
            connection.close()

        return run

    errors = run_together([worker(seed) for seed in range(6)], timeout=120)
    assert errors == []
    assert counts.drift() == []
    tenant = Tenant.objects.get(pk=acme.pk)
    for person in people:
        expected = MessageRecipient.objects.filter(
            user=person, tenant=acme, read_at__isnull=True, deleted_at__isnull=True
        ).count()
        assert unread_count_for(person.pk, tenant) == expected


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_unread_rows_there_already() -> None:
    old = migrate([("messaging", "0006_deferred_fanout")])
    try:
        user_model = old.get_model("auth", "User")
        tenant_model = old.get_model("tenants", "Tenant")
        message_model = old.get_model("messaging", "Message")
        recipient_model = old.get_model("messaging", "MessageRecipient")
        tenant = tenant_model.objects.create(slug="acme", name="Acme")
        ann = user_model.objects.create(username="ann")
        bo = user_model.objects.create(username="bo")
        now = timezone.now()
        for read_at, deleted_at in ((None, None), (None, None), (now, None), (None, now)):
            message = message_model.objects.create(tenant=tenant, sender=ann, body="b")
            recipient_model.objects.create(
                message=message,
                user=bo,
                tenant=tenant,
                created_at=message.created_at,
                read_at=read_at,
                deleted_at=deleted_at,
            )
        migrate([("messaging", "0007_unread_counts")])
        assert list(UnreadCount.objects.values_list("user_id", "tenant_id", "n")) == [
            (bo.pk, tenant.pk, 2)
        ]
        # And the triggers run from there on.
        MessageRecipient.objects.filter(user_id=bo.pk).update(read_at=now)
        assert counts.counts_for([bo.pk], tenant.pk) == {bo.pk: 0}
    finally:
        migrate_to_latest()
