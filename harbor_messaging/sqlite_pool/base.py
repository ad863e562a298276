"""Django's SQLite backend, with a closed connection kept open for the next request.

Under ASGI each request's sync code runs in a thread of its own (asgiref's
``ThreadSensitiveContext``) and Django's connections belong to a thread, so every request
opened a new SQLite connection: the connect, Django's SQL functions registered, the
PRAGMAs, and on its first query the schema read again into an empty page cache. On a
slow machine that was ~3 ms of a send's ~16 between the POST and its subscribers' event
(docs/performance.md, "The server's own fan-out, and a send's own time"). Here
``close()`` gives the open connection back to its database file's pool and the next
connect in any thread takes it, its schema already read.

A connection is kept only when it is in a clean state: not in a transaction (rolled back
if it was), not closed inside an atomic block, no database error since its last commit or
rollback, the file it was opened on still the one at that path (a test database made
again under the same name is a new file, and its old connections are closed), and no
more than ``IDLE_MAX`` idle a file. Taking one back runs Django's per-connection PRAGMAs
and the ``init_command`` again, so a connection a migration left with foreign keys off
comes back as a new one would. In-memory databases are left to Django (it never closes
them).
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from django.db.backends.sqlite3 import base

# Idle connections kept per database file: each an open file and its schema, no pages.
IDLE_MAX = 8

_lock = threading.Lock()
# Per database path: the file's identity the idle connections were opened on, and them
# (the most recently used last).
_idle: dict[str, tuple[tuple[int, int], list[Any]]] = {}


def _forget_in_child() -> None:
    """After a fork: the parent's connections are not the child's to use or to close
    (SQLite: an open database must not be carried across a fork)."""
    global _lock
    _lock = threading.Lock()
    _idle.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _idle_for(path: str, identity: tuple[int, int]) -> tuple[list[Any], list[Any]]:
    """Under ``_lock``: the idle connections of the file now at ``path``, and those of a
    file that was there before (done with: for the caller to close outside the lock)."""
    entry = _idle.get(path)
    if entry is not None and entry[0] == identity:
        return entry[1], []
    idle: list[Any] = []
    _idle[path] = (identity, idle)
    return idle, entry[1] if entry is not None else []


def _discard(connection: Any) -> None:
    # A connection in a broken state: closing is all that is left to do with it.
    with contextlib.suppress(Exception):
        connection.close()


def idle_count(path: str) -> int:
    """How many connections to ``path`` wait to be taken (operators' and tests' view)."""
    with _lock:
        entry = _idle.get(str(path))
        return len(entry[1]) if entry else 0


def clear() -> int:
    """Close every idle connection of this process; how many there were."""
    with _lock:
        connections = [c for _, idle in _idle.values() for c in idle]
        _idle.clear()
    for connection in connections:
        _discard(connection)
    return len(connections)


class DatabaseWrapper(base.DatabaseWrapper):
    # The identity of the file this wrapper's connection was opened on.
    _opened_on: tuple[int, int] | None = None

    def _pool_path(self) -> str | None:
        if self.is_in_memory_db():
            return None
        return str(self.settings_dict["NAME"])

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        path = self._pool_path()
        identity = _identity(path) if path is not None else None
        if path is None or identity is None:
            # No file yet (the connect makes it): a new connection, on the file it made.
            connection = super().get_new_connection(conn_params)
            self._opened_on = _identity(path) if path is not None else None
            return connection
        self._opened_on = identity
        with _lock:
            idle, stale = _idle_for(path, identity)
            connection = idle.pop() if idle else None
        for old in stale:
            _discard(old)
        if connection is not None:
            try:
                self._prepare(connection)
            except Exception:
                _discard(connection)
                connection = None
        if connection is None:
            connection = super().get_new_connection(conn_params)
        return connection

    def _prepare(self, connection: Any) -> None:
        """What ``get_new_connection`` sets on a new connection, set again."""
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA legacy_alter_table = OFF")
        # Django's SQLite wrapper splits OPTIONS["init_command"] into these (untyped).
        for init_command in getattr(self, "init_commands", ()):
            if init_command := init_command.strip():
                connection.execute(init_command)

    def _close_now(self, connection: Any) -> None:
        """Django's own ``_close``: the connection closed for good."""
        with self.wrap_database_errors:
            connection.close()

    def _close(self) -> None:
        connection = self.connection
        if connection is None:
            return
        identity, self._opened_on = self._opened_on, None
        path = self._pool_path()
        # Closed inside an atomic block, Django keeps the connection on the wrapper (its
        # next use raises, as a closed connection does): it cannot go to another thread.
        if path is None or identity is None or self.errors_occurred or self.in_atomic_block:
            self._close_now(connection)
            return
        try:
            if connection.in_transaction:
                connection.rollback()
            # Its page cache emptied: an idle connection holds no pages. Kept full, eight
            # of them grew Daphne by 2.5 KB a stream at 10,000 (the opens' session and
            # membership pages); the pages are in the OS's cache anyway.
            connection.execute("PRAGMA shrink_memory")
        except Exception:
            self._close_now(connection)
            return
        if _identity(path) != identity:
            self._close_now(connection)
            return
        with _lock:
            idle, stale = _idle_for(path, identity)
            if len(idle) < IDLE_MAX:
                idle.append(connection)
                connection = None
        for old in stale:
            _discard(old)
        if connection is not None:
            self._close_now(connection)
