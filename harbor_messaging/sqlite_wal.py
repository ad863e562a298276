"""SQLite's WAL checkpoints in a thread of their own, not in the commit of a send.

In WAL mode the connection whose commit takes the log past ``wal_autocheckpoint`` pages
copies the log into the database there and then, with an fsync of each. A whole-tenant
send writes a row to every member's inbox indexes, several hundred to over a thousand
pages at 1,000 members: at SQLite's default of 1,000 pages every second such send or so
paid for a checkpoint, and the sends' p90 was twice their median (docs/performance.md).
Here, once a process opens a connection to a database file, a daemon thread checkpoints
it every ``HARBOR_SQLITE_CHECKPOINT_SECONDS`` when anything was written (``PASSIVE``: it
never waits for a reader or a writer), so the log stays short and commits only append to
it. The connections' own ``wal_autocheckpoint`` (settings.py) stays, higher, as the
backstop for a process whose thread is not running.

PostgreSQL checkpoints in a process of its own already; nothing here touches it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger("harbor_messaging.sqlite_wal")

# SQLITE_BUSY and SQLITE_LOCKED (another checkpoint, a writer opening the log), and
# SQLITE_CANTOPEN (the file went between the check and the open): try again next time.
RETRY_LATER = {5, 6, 14}

_lock = threading.Lock()
# Database path -> the process id its thread was started in (a forked child starts its own).
_started: dict[str, int] = {}


def checkpoint(path: str) -> tuple[int, int, int] | None:
    """One passive checkpoint of ``path``: (busy, log pages, pages copied), or None when the
    file is gone (a test database dropped, say: it is never created afresh here)."""
    if not Path(path).exists():
        return None
    uri = f"file:{quote(path)}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=0.1, check_same_thread=False)
    try:
        row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    busy, pages, copied = (int(value) for value in row)
    return busy, pages, copied


def _log_state(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(f"{path}-wal")
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _run(path: str, every: float) -> None:
    failing = False
    done: tuple[int, int] | None = None  # The log as the last checkpoint left it.
    while True:
        time.sleep(every)
        state = _log_state(path)
        if state is None or state == done:
            continue  # No log, or nothing written since: not even a connection.
        try:
            result = checkpoint(path)
            failing = False
            if result is not None and result[0] == 0 and result[1] == result[2]:
                done = state  # All of it copied; busy or partial, again next tick.
        except sqlite3.Error as error:
            if getattr(error, "sqlite_errorcode", None) in RETRY_LATER:
                continue
            if not failing:  # Once per spell of failures, not once a tick.
                logger.warning("WAL checkpoint of %s failed", path, exc_info=True)
            failing = True


def ensure_checkpointer(path: str, every: float) -> bool:
    """Start this process's checkpoint thread for ``path`` unless it runs; whether it runs."""
    if every <= 0 or not path or path == ":memory:" or "mode=memory" in path:
        return False
    pid = os.getpid()
    with _lock:
        if _started.get(path) == pid:
            return True
        _started[path] = pid
    thread = threading.Thread(
        target=_run, args=(path, every), name="harbor-sqlite-checkpoint", daemon=True
    )
    thread.start()
    return True


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: a SQLite file's first connection starts its thread."""
    if connection.vendor != "sqlite":
        return
    from django.conf import settings

    ensure_checkpointer(
        str(connection.settings_dict["NAME"]),
        float(settings.HARBOR_SQLITE_CHECKPOINT_SECONDS),
    )
