"""SQLite's WAL checkpoints in a thread of the process, not in a send's commit."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from harbor_messaging import sqlite_wal


def _database_with_a_long_log(path: Path) -> sqlite3.Connection:
    """A WAL database whose rows are all still in the log (no checkpoint has run)."""
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (body TEXT)")
    with writer:
        writer.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(2000)])
    return writer


def test_the_thread_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "harbor.sqlite3"
    writer = _database_with_a_long_log(path)
    try:
        before = path.stat().st_size
        assert Path(f"{path}-wal").stat().st_size > 1_000_000
        assert sqlite_wal.ensure_checkpointer(str(path), 0.05)
        assert sqlite_wal.ensure_checkpointer(str(path), 0.05)  # Once per process and file.
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > before + 1_000_000
        # The copy is whole: a passive checkpoint of ours (one not running beside the
        # thread's, which would find it busy) has every page of the log copied.
        result = None
        while time.monotonic() < deadline:
            try:
                result = sqlite_wal.checkpoint(str(path))
            except sqlite3.OperationalError:  # Busy as a raise rather than as a row.
                result = None
            if result is not None and result[0] == 0:
                break
            time.sleep(0.01)
        assert result is not None
        busy, pages, copied = result
        assert busy == 0 and pages == copied
        # Readers and writers go on as before.
        with writer:
            writer.execute("INSERT INTO t VALUES ('after')")
        assert writer.execute("SELECT COUNT(*) FROM t").fetchone() == (2001,)
    finally:
        writer.close()


def test_a_database_file_that_is_gone_is_not_created_again(tmp_path: Path) -> None:
    path = tmp_path / "dropped.sqlite3"
    assert sqlite_wal.checkpoint(str(path)) is None
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "every"), [(":memory:", 1.0), ("file::memory:?mode=memory", 1.0), ("x.sqlite3", 0.0)]
)
def test_no_thread_for_a_memory_database_or_when_turned_off(name: str, every: float) -> None:
    assert not sqlite_wal.ensure_checkpointer(name, every)


@pytest.mark.django_db
def test_the_projects_own_sqlite_connection_starts_its_thread() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    connection.ensure_connection()
    assert sqlite_wal._started.get(str(connection.settings_dict["NAME"])) == os.getpid()
