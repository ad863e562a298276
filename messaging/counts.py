"""Unread counts: the sum of a user's UnreadCount rows in a tenant, folded as they pile up.

The database's triggers (migration 0007) add a row for each statement that changes a
user's unread rows; nothing else writes them but ``fold``, which replaces a user's rows
by their sum. A read takes the sum and how many rows it added up, and folds those users
whose rows passed ``FOLD_AT``, so a read adds up a few rows whatever the user's unread
count, and a user who is never read (nobody sends them anything direct, they never
open the app) is folded by the clean-up command (``fold_all``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from harbor_messaging import sql

from .models import MessageRecipient, UnreadCount

# A user's rows are folded into one once a read finds more than this many. A fold is a
# commit of its own: at 16, one send in ten at 1M messages folded and four processes sent
# 890–1,195 a second; at 64, 1,197–1,368 (docs/performance.md). Summing 64 rows is
# index-only and costs a read microseconds.
FOLD_AT = 64

TABLE = UnreadCount._meta.db_table
RECIPIENTS = MessageRecipient._meta.db_table
# What the triggers count (migration 0007 holds its own copy, as migrations must).
UNREAD = "read_at IS NULL AND deleted_at IS NULL"

# Plain SQL, the same on SQLite and PostgreSQL, as each send runs it: through the ORM,
# setting the query up and compiling it cost more than running it. Each row: user_id,
# their count, how many rows made it.
COUNTS_SQL = (
    f"SELECT user_id, SUM(n), COUNT(*) FROM {TABLE}"
    " WHERE user_id IN ({marks}) AND tenant_id = %s GROUP BY user_id"
)


def counts_sql(user_ids: Sequence[int]) -> str:
    """``COUNTS_SQL`` for these users; its parameters are ``[*user_ids, tenant_id]``."""
    return COUNTS_SQL.format(marks=sql.marks(user_ids))


def read(
    rows: Iterable[Sequence[Any]], user_ids: Iterable[int]
) -> tuple[dict[int, int], list[int]]:
    """The counts in ``COUNTS_SQL``'s rows (0 for users with none), and the users whose
    rows should be folded."""
    counts = dict.fromkeys(user_ids, 0)
    to_fold = []
    for user_id, total, rows_summed in rows:
        counts[user_id] = int(total)
        if rows_summed > FOLD_AT:
            to_fold.append(user_id)
    return counts, to_fold


def counts_for(user_ids: Iterable[int], tenant_id: int) -> dict[int, int]:
    """Each user's unread count in the tenant, in one query; folds where due."""
    ids = list(user_ids)
    if not ids:
        return {}
    counts, to_fold = read(sql.fetch(counts_sql(ids), [*ids, tenant_id]), ids)
    fold_later(tenant_id, to_fold)
    return counts


def counts_by_tenant(user_id: int, tenant_ids: Sequence[int]) -> dict[int, int]:
    """One user's unread count in each of these tenants, in one query; folds where due."""
    if not tenant_ids:
        return {}
    by_tenant = dict.fromkeys(tenant_ids, 0)
    for tenant_id, total, rows_summed in sql.fetch(
        f"SELECT tenant_id, SUM(n), COUNT(*) FROM {TABLE}"
        f" WHERE user_id = %s AND tenant_id IN ({sql.marks(tenant_ids)}) GROUP BY tenant_id",
        [user_id, *tenant_ids],
    ):
        by_tenant[tenant_id] = int(total)
        if rows_summed > FOLD_AT:
            fold_later(tenant_id, [user_id])
    return by_tenant


def fold_later(tenant_id: int, user_ids: list[int]) -> None:
    """Fold these users' rows: now, when no transaction is open, else once it commits
    (a fold inside a longer transaction would hold its rows' locks until the end)."""
    if not user_ids:
        return
    if connection.in_atomic_block:
        transaction.on_commit(lambda: fold(tenant_id, user_ids), robust=True)
    else:
        fold(tenant_id, user_ids)


# One statement, its own transaction. SKIP LOCKED: rows another fold is taking are left
# to it, so two folds never wait for each other, and rows inserted after the statement
# began are not seen, so they stay as they are. Either way every row's n is counted once.
_FOLD_POSTGRES = (
    f"WITH gone AS (DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE}"
    " WHERE tenant_id = %s AND user_id IN ({marks}) FOR UPDATE SKIP LOCKED)"
    " RETURNING user_id, n)"
    f" INSERT INTO {TABLE} (user_id, tenant_id, n)"
    " SELECT user_id, %s, SUM(n) FROM gone GROUP BY user_id HAVING SUM(n) <> 0"
)


def fold(tenant_id: int, user_ids: Sequence[int]) -> None:
    """Replace these users' rows in the tenant by one row each holding their sum."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    marks = sql.marks(ids)
    if connection.vendor == "postgresql":
        # A user with a single row gets it back as it was; one whose rows sum to 0, none.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(_FOLD_POSTGRES.format(marks=marks), [tenant_id, *ids, tenant_id])
        return
    # SQLite has one writer at a time: the read and the rewrite are one transaction.
    with transaction.atomic():
        sums = sql.fetch(
            f"SELECT user_id, SUM(n), MAX(id) FROM {TABLE}"
            f" WHERE tenant_id = %s AND user_id IN ({marks}) GROUP BY user_id",
            [tenant_id, *ids],
        )
        for user_id, total, last_id in sums:
            UnreadCount.objects.filter(
                user_id=user_id, tenant_id=tenant_id, id__lte=last_id
            ).delete()
            UnreadCount.objects.create(user_id=user_id, tenant_id=tenant_id, n=total)


def fold_all(*, batch: int = 500) -> int:
    """Fold every user's rows in every tenant where there are more than one, and remove
    those of deleted users and tenants (the clean-up command): how many users' rows it
    folded."""
    from django.contrib.auth.models import User

    from harbor_messaging.tenants.models import Tenant

    UnreadCount.objects.exclude(user_id__in=User.objects.values("pk")).delete()
    UnreadCount.objects.exclude(tenant_id__in=Tenant.objects.values("pk")).delete()
    folded = 0
    while True:
        groups = sql.fetch(
            f"SELECT tenant_id, user_id FROM {TABLE} GROUP BY tenant_id, user_id"
            " HAVING COUNT(*) > 1 ORDER BY tenant_id, user_id LIMIT %s",
            [batch],
        )
        if not groups:
            return folded
        by_tenant: dict[int, list[int]] = {}
        for tenant_id, user_id in groups:
            by_tenant.setdefault(tenant_id, []).append(user_id)
        for tenant_id, ids in by_tenant.items():
            fold(tenant_id, ids)
        folded += len(groups)
        if len(groups) < batch:
            return folded


def drift() -> list[tuple[int, int, int, int]]:
    """(user_id, tenant_id, unread rows, their UnreadCount sum) wherever the two differ:
    none while the triggers keep the counts, which the tests check after each of theirs."""
    rows = sql.fetch(
        "SELECT user_id, tenant_id, SUM(c), SUM(k) FROM ("
        f" SELECT user_id, tenant_id, COUNT(*) AS c, 0 AS k FROM {RECIPIENTS}"
        f" WHERE {UNREAD} GROUP BY user_id, tenant_id"
        " UNION ALL"
        f" SELECT user_id, tenant_id, 0, SUM(n) FROM {TABLE} GROUP BY user_id, tenant_id"
        ") AS both_sides GROUP BY user_id, tenant_id HAVING SUM(c) <> SUM(k)"
        " ORDER BY user_id, tenant_id",
        [],
    )
    return [(u, t, int(c), int(k)) for u, t, c, k in rows]


def recount() -> int:
    """Set every drifted count right with a row of the difference (``cleanup --recount``):
    how many users' counts were wrong. Recipient rows are locked against writes meanwhile
    (SHARE on PostgreSQL; SQLite's one writer), so no trigger runs between the two reads."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {RECIPIENTS} IN SHARE MODE")
        drifted = drift()
        UnreadCount.objects.bulk_create(
            [
                UnreadCount(user_id=user_id, tenant_id=tenant_id, n=rows - summed)
                for user_id, tenant_id, rows, summed in drifted
            ],
            batch_size=1000,
        )
    return len(drifted)


def clear_if_no_rows(using: str = "default", **kwargs: Any) -> None:
    """Remove every unread count row when there is no recipient row left (post_migrate,
    which ``flush`` sends: messaging/apps.py).

    ``manage.py flush`` (and the tests' flush after each transactional test) deletes every
    table's rows in an order of its own; where it deletes the recipient rows after the
    count rows, SQLite's triggers write the deleted unread rows back as negative counts,
    which the next users with the same (reset) ids would inherit. With no recipient row
    every count is 0, so removing them all is right whenever it runs.
    """
    from django.db import connections

    if TABLE not in connections[using].introspection.table_names():
        return  # migrated to before the counts
    if not MessageRecipient.objects.using(using).exists():
        UnreadCount.objects.using(using).all().delete()
