"""Whole-tenant messages: their recipient rows stored after the event is out, not before.

A message to a whole tenant (a tenant admin's, or a global admin's broadcast) needs a
recipient row for every member: at 1,000 members that was most of the send's time, and it
stood between the POST and every subscriber's event (docs/performance.md). So the send
stores the message marked ``fanout_pending`` and counts it on its tenant
(``Tenant.undelivered_messages``); after the commit its event is published first, and then
``do_deliver_message`` stores the rows in a transaction of their own.

Until that commits, and for good if the process died in between, every read of a user's
recipient rows first stores that user's own rows of the tenant's pending messages
(``do_deliver_pending_to``). That costs nothing while nothing is pending: the tenant row
that carries the count is read by the request's access check anyway. Who receives a
whole-tenant message is the same wherever its rows are written: the tenant's active
members, other than the sender, who had joined by the time it was sent.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q

from harbor_messaging import sql
from harbor_messaging.tenants.models import Membership, Tenant

from .models import Message, MessageRecipient

logger = logging.getLogger(__name__)


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "recipients": quote(MessageRecipient._meta.db_table),
        "messages": quote(Message._meta.db_table),
        "members": quote(Membership._meta.db_table),
        "users": quote(User._meta.db_table),
    }


# The members a whole-tenant message goes to, as a join on the message ``m``: one rule for
# the count at send time, the rows stored after it, and a reader's own rows.
_RECEIVERS = (
    "FROM {messages} m JOIN {members} ms ON ms.tenant_id = m.tenant_id"
    " JOIN {users} u ON u.id = ms.user_id"
    " WHERE u.is_active = %s AND ms.user_id <> m.sender_id AND ms.created_at <= m.created_at"
)

_INSERT = (
    "INSERT INTO {recipients} (message_id, user_id, tenant_id, created_at)"
    " SELECT m.id, ms.user_id, m.tenant_id, m.created_at " + _RECEIVERS
)

# ON CONFLICT: the rows a reader stored for itself meanwhile stay as they are (their read
# state included). SQLite needs the SELECT's WHERE to tell its ON from a join's; it has one.
_CONFLICT = " ON CONFLICT (message_id, user_id) DO NOTHING"


def count_member_receivers(*, message: Message) -> int:
    """How many members a just-created whole-tenant message reaches; stored on it
    (``recipient_count``) with the mark that its rows are still to be stored."""
    t = _tables()
    rows = sql.fetch(f"SELECT COUNT(*) {_RECEIVERS.format(**t)} AND m.id = %s", [True, message.pk])
    count = int(rows[0][0])
    Message.objects.filter(pk=message.pk).update(recipient_count=count, fanout_pending=True)
    message.recipient_count = count
    message.fanout_pending = True
    return count


def defer_member_deliveries(*, message: Message, tenant: Tenant) -> None:
    """Count the message as pending on its tenant, and store its recipient rows once the
    send has committed and its events are out.

    Call inside the send's transaction, after ``count_member_receivers`` and after its
    events were handed to ``publish_on_commit``: on-commit callbacks run in the order they
    were registered, so the rows come after the publish.
    """
    # The tenant's row, read with every request's access check, is how readers learn that
    # something is pending; the update also orders concurrent whole-tenant sends.
    Tenant.objects.filter(pk=tenant.pk).update(undelivered_messages=F("undelivered_messages") + 1)
    message_id = message.pk
    transaction.on_commit(lambda: deliver_after_fanout(message_id), robust=True)


# How long the rows wait for this process's live fan-out at most (10,000 streams: ~0.3 s).
FANOUT_WAIT_SECONDS = 2.0


def deliver_after_fanout(message_id: int) -> None:
    """Store a committed whole-tenant message's rows: at once where this process holds no
    streams (a command, the tests), else in the worker thread once this process has
    written the message's event to its streams. On two cores the rows' insert, the
    fan-out and the subscribers' reading shared the CPU, and the rows are not urgent:
    every read until they are stored stores its own."""
    from . import relay

    if not relay.holds_streams():
        do_deliver_message(message_id)
        return
    _worker.submit(message_id)


class _DeliveryWorker:
    """One thread a process, started when first needed: rows after the fan-out."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, message_id: int) -> None:
        self._jobs.put(message_id)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="harbor-tenant-delivery", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        from . import relay

        while True:
            message_id = self._jobs.get()
            relay.wait_for_local_fanout(FANOUT_WAIT_SECONDS)
            close_old_connections()
            try:
                do_deliver_message(message_id)
            except Exception:
                # Still pending: members' reads store their own rows, and cleanup the rest.
                logger.exception("Storing the rows of whole-tenant message %s failed", message_id)
            finally:
                close_old_connections()


_worker = _DeliveryWorker()


def do_deliver_message(message_id: int) -> int:
    """Store the recipient rows of one pending whole-tenant message; how many were new.

    Idempotent: rows readers stored meanwhile are kept, and a message already delivered
    (or deleted for everyone meanwhile) gets none.
    """
    t = _tables()
    with transaction.atomic():
        # The message's lock orders this against the sender's delete for everyone (an
        # UPDATE). Not FOR UPDATE: that would also block the key-share lock a reader's row
        # takes on the message for its foreign key, while this waits for the reader's row.
        locked = (
            Message.objects.select_for_update(no_key=True)
            .filter(pk=message_id)
            .values_list("tenant_id", "fanout_pending", "deleted_at")
            .first()
        )
        if locked is None or not locked[1]:
            return 0
        tenant_id, _, deleted_at = locked
        stored = 0
        if deleted_at is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    _INSERT.format(**t) + " AND m.id = %s ORDER BY ms.user_id" + _CONFLICT,
                    [True, message_id],
                )
                stored = max(0, int(cursor.rowcount))
        Message.objects.filter(pk=message_id).update(fanout_pending=False)
        Tenant.objects.filter(pk=tenant_id, undelivered_messages__gt=0).update(
            undelivered_messages=F("undelivered_messages") - 1
        )
    return stored


def do_deliver_pending_to(tenant_id: int, user_ids: Iterable[int]) -> int:
    """Store these users' own rows of the tenant's pending whole-tenant messages, so what
    they read next counts them; how many were new. Rows that exist are left alone."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    t = _tables()
    # On PostgreSQL the messages are share-locked as they are read: a delivery or a delete
    # for everyone under way is waited for, and the message read again as it left it (not
    # pending, or deleted), so no row is stored for a message deleted meanwhile. SQLite
    # has one writer at a time and needs no such lock.
    lock = " FOR SHARE OF m" if connection.vendor == "postgresql" else ""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            _INSERT.format(**t)
            + " AND m.tenant_id = %s AND m.fanout_pending = %s AND m.deleted_at IS NULL"
            f" AND ms.user_id IN ({sql.marks(ids)}){lock}" + _CONFLICT,
            [True, tenant_id, True, *ids],
        )
        return max(0, int(cursor.rowcount))


def deliver_pending_if_any(tenant: Tenant, user_ids: Iterable[int]) -> None:
    """``do_deliver_pending_to`` when the tenant (as just read) has anything pending.

    The reads that call this are reads for the caller; the rows it may write are those the
    send would have written, and would be written moments later anyway.
    """
    if tenant.undelivered_messages > 0:
        do_deliver_pending_to(tenant.pk, user_ids)


def deliver_pending_among(messages: Q, user_id: int) -> bool:
    """Store the user's own rows of those of these messages still pending (a read by id,
    which knows no tenant beforehand); whether there were any."""
    tenants = set(
        Message.objects.filter(messages, fanout_pending=True).values_list("tenant_id", flat=True)
    )
    for tenant_id in tenants:
        do_deliver_pending_to(tenant_id, [user_id])
    return bool(tenants)


def do_deliver_all_pending(*, limit: int = 1000) -> int:
    """Deliver every message still pending (after a crash between a send's commit and its
    rows): the clean-up command runs it. How many messages it delivered."""
    done = 0
    for message_id in (
        Message.objects.filter(fanout_pending=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    ):
        try:
            do_deliver_message(message_id)
            done += 1
        except Exception:
            logger.exception("Delivering whole-tenant message %s failed", message_id)
    return done
