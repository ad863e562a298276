from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from harbor_messaging import sqlite_wal, twisted_write

        from . import checks, listeners  # noqa: F401  (checks: registers the system checks)

        # Before any stream listens: the manager that keeps large channels in order.
        listeners.install()

        # A message to thousands of streams is thousands of small writes: send each at
        # once instead of a writability round trip through the reactor (twisted_write.py).
        twisted_write.install()
        # On SQLite, WAL checkpoints in a thread of the process rather than in a commit.
        connection_created.connect(sqlite_wal.on_connection_created, dispatch_uid="harbor-wal")
        # After `flush` (and every migrate): no recipient rows means no unread counts.
        post_migrate.connect(counts_after_flush, sender=self, dispatch_uid="harbor-counts")


def counts_after_flush(using: str = "default", **kwargs: Any) -> None:
    """Remove every unread count row when there is no recipient row left.

    ``manage.py flush`` (and the tests' flush after each transactional test) deletes every
    table's rows in an order of its own; where it deletes the recipient rows after the
    count rows, SQLite's triggers write the deleted unread rows back as negative counts,
    which the next users with the same (reset) ids would inherit. With no recipient row
    every count is 0, so removing them all is right whenever it runs.
    """
    from django.db import connections

    from .models import MessageRecipient, UnreadCount

    connection = connections[using]
    if UnreadCount._meta.db_table not in connection.introspection.table_names():
        return  # migrated to before the counts
    if not MessageRecipient.objects.using(using).exists():
        UnreadCount.objects.using(using).all().delete()
