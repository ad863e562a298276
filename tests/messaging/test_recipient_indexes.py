"""The recipient rows' indexes (migration 0005): two keyed by user, not three, and every
lookup the foreign keys' own indexes used to serve still served by an index."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from messaging.models import MessageRecipient
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = MessageRecipient._meta.db_table


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        name: list(info["columns"])
        for name, info in constraints.items()
        if (info["index"] or info["unique"]) and not info["primary_key"]
    }


def test_a_whole_tenant_send_writes_two_user_keyed_indexes_not_three() -> None:
    indexes = _indexes()
    by_user = sorted(name for name, columns in indexes.items() if columns[0] == "user_id")
    assert by_user == ["recipient_inbox", "recipient_unread"], indexes
    # No index on the message alone: the unique (message, user) starts with it.
    assert ["message_id", "user_id"] in indexes.values()
    assert ["message_id"] not in indexes.values()


def _plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test database is small enough for a sequential scan to win; what matters
            # is that an index can serve the lookup at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(cell) for row in cursor.fetchall() for cell in row)


@pytest.mark.parametrize(
    ("where", "index"),
    [
        # A user's rows, deleted ones too: deleting the user (Django's cascade) and the admin.
        ("user_id = %s", "recipient_inbox"),
        # A message's rows: its deletion by the sender, its recipients, the cascade. The
        # unique (message, user): recipient_message_user, SQLite's autoindex of it.
        ("message_id = %s", ""),
    ],
)
def test_the_foreign_keys_lookups_still_use_an_index(where: str, index: str) -> None:
    with transaction.atomic():
        plan = _plan(f"SELECT id FROM {TABLE} WHERE {where}", [1])
    if connection.vendor == "postgresql":
        assert "Index" in plan and "Seq Scan" not in plan, plan
        assert (index or "recipient_message_user") in plan, plan
    else:
        assert "SEARCH" in plan and "SCAN" not in plan.replace("SEARCH", ""), plan
        assert (index or "sqlite_autoindex") in plan, plan


def test_the_migration_keeps_the_rows_and_goes_back() -> None:
    tenant = factories.make_tenant()
    bo, ann = factories.make_member(tenant, "bo"), factories.make_member(tenant, "ann")
    message = factories.send(bo, tenant, [ann])
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("messaging", "0004_stored_body_html_and_recipients")])
        before = _indexes()
        assert ["user_id"] in before.values() and ["message_id"] in before.values(), before
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        rows = MessageRecipient.objects.filter(message=message)
        assert [(r.user_id, r.tenant_id) for r in rows] == [(ann.pk, tenant.pk)]
        test_a_whole_tenant_send_writes_two_user_keyed_indexes_not_three()
    finally:
        # Leave the schema as the other tests expect it: every migration applied.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
