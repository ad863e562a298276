from __future__ import annotations

from django.apps import AppConfig


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
