"""Unread counts kept by the database: UnreadCount rows written by triggers on
MessageRecipient, and the counts as they stand now written as the first rows.

A recipient row is unread while neither read_at nor deleted_at is set. Every statement
that inserts, updates or deletes recipient rows adds, per user and tenant, one row of
how many became unread less how many stopped being. On PostgreSQL that is one
statement-level trigger with transition tables (one INSERT per statement however many
rows it wrote: a whole-tenant delivery of 10,000 rows is one); SQLite has row triggers
only, so there it is a row per changed recipient row. Nothing is updated in place, so
no writer waits for another's lock on a counter, whatever order they come in.
"""

from django.conf import settings
from django.db import migrations, models

UNREAD = "read_at IS NULL AND deleted_at IS NULL"

POSTGRES_FORWARD = f"""
LOCK TABLE messaging_messagerecipient IN SHARE MODE;
CREATE FUNCTION messaging_unread_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        SELECT user_id, tenant_id, COUNT(*) FROM new_rows WHERE {UNREAD}
        GROUP BY user_id, tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        SELECT user_id, tenant_id, -COUNT(*) FROM old_rows WHERE {UNREAD}
        GROUP BY user_id, tenant_id;
    ELSE
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        SELECT user_id, tenant_id, SUM(d) FROM (
            SELECT user_id, tenant_id, 1 AS d FROM new_rows WHERE {UNREAD}
            UNION ALL
            SELECT user_id, tenant_id, -1 FROM old_rows WHERE {UNREAD}
        ) AS changed
        GROUP BY user_id, tenant_id HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER messaging_unread_inserted AFTER INSERT ON messaging_messagerecipient
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_unread_changed();
CREATE TRIGGER messaging_unread_updated AFTER UPDATE ON messaging_messagerecipient
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_unread_changed();
CREATE TRIGGER messaging_unread_deleted AFTER DELETE ON messaging_messagerecipient
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_unread_changed();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER messaging_unread_inserted ON messaging_messagerecipient;
DROP TRIGGER messaging_unread_updated ON messaging_messagerecipient;
DROP TRIGGER messaging_unread_deleted ON messaging_messagerecipient;
DROP FUNCTION messaging_unread_changed();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER messaging_unread_inserted AFTER INSERT ON messaging_messagerecipient
    WHEN NEW.read_at IS NULL AND NEW.deleted_at IS NULL
    BEGIN
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        VALUES (NEW.user_id, NEW.tenant_id, 1);
    END""",
    """CREATE TRIGGER messaging_unread_deleted AFTER DELETE ON messaging_messagerecipient
    WHEN OLD.read_at IS NULL AND OLD.deleted_at IS NULL
    BEGIN
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        VALUES (OLD.user_id, OLD.tenant_id, -1);
    END""",
    """CREATE TRIGGER messaging_unread_updated AFTER UPDATE ON messaging_messagerecipient
    WHEN (OLD.read_at IS NULL AND OLD.deleted_at IS NULL)
        <> (NEW.read_at IS NULL AND NEW.deleted_at IS NULL)
        OR ((OLD.read_at IS NULL AND OLD.deleted_at IS NULL)
            AND (OLD.user_id <> NEW.user_id OR OLD.tenant_id <> NEW.tenant_id))
    BEGIN
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        SELECT OLD.user_id, OLD.tenant_id, -1
        WHERE OLD.read_at IS NULL AND OLD.deleted_at IS NULL;
        INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
        SELECT NEW.user_id, NEW.tenant_id, 1
        WHERE NEW.read_at IS NULL AND NEW.deleted_at IS NULL;
    END""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER messaging_unread_inserted",
    "DROP TRIGGER messaging_unread_deleted",
    "DROP TRIGGER messaging_unread_updated",
]

# The counts as they stand: one row per user and tenant with unread rows.
BACKFILL = f"""
INSERT INTO messaging_unreadcount (user_id, tenant_id, n)
SELECT user_id, tenant_id, COUNT(*) FROM messaging_messagerecipient WHERE {UNREAD}
GROUP BY user_id, tenant_id
"""


def forward(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        # SHARE: no recipient row changes between the triggers' start and the backfill.
        run(POSTGRES_FORWARD)
    else:
        for statement in SQLITE_FORWARD:
            run(statement)
    run(BACKFILL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0006_deferred_fanout"),
        ("tenants", "0003_deferred_fanout"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UnreadCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("n", models.IntegerField()),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "unread count change",
                "verbose_name_plural": "unread count changes",
                "indexes": [models.Index(fields=["user", "tenant", "n"], name="unread_count_user")],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
