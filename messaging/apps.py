from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from harbor_messaging import sqlite_wal, twisted_write

        from . import checks, counts, listeners  # noqa: F401  (checks: registers the checks)

        # Before any stream listens: the manager that keeps large channels in order.
        listeners.install()

        # A message to thousands of streams is thousands of small writes: send each at
        # once instead of a writability round trip through the reactor (twisted_write.py).
        twisted_write.install()
        # On SQLite, WAL checkpoints in a thread of the process rather than in a commit.
        connection_created.connect(sqlite_wal.on_connection_created, dispatch_uid="harbor-wal")
        # After `flush` (and every migrate): no recipient rows means no unread counts.
        post_migrate.connect(counts.clear_if_no_rows, sender=self, dispatch_uid="harbor-counts")
