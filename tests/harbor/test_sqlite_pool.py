"""SQLite connections kept open between requests (harbor_messaging/sqlite_pool)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError
from django.db.utils import ConnectionHandler

from harbor_messaging.sqlite_pool import base as pool

INIT = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-2048;"


@pytest.fixture(autouse=True)
def _unblocked(django_db_blocker: Any) -> Iterator[None]:
    # Databases of the tests' own, not pytest-django's test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Any]:
    """Wrappers on a database file of the test's own, as Django makes them per thread."""
    path = tmp_path / "pool.sqlite3"
    settings = {
        "ENGINE": "harbor_messaging.sqlite_pool",
        "NAME": str(path),
        "OPTIONS": {"init_command": INIT, "transaction_mode": "IMMEDIATE"},
    }

    def wrapper() -> Any:
        return ConnectionHandler({"default": dict(settings)})["default"]

    first = wrapper()
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        cursor.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY,"
            " parent_id INTEGER NOT NULL REFERENCES parent (id))"
        )
    first.close()
    wrapper.path = str(path)  # type: ignore[attr-defined]
    yield wrapper
    pool.clear()


def _raw(db: Any) -> Any:
    db.ensure_connection()
    return db.connection


def test_a_closed_connection_is_taken_again_in_another_thread(databases: Any) -> None:
    db = databases()
    raw = _raw(db)
    db.close()
    assert pool.idle_count(databases.path) == 1
    taken: list[Any] = []

    def request() -> None:  # A request's thread, with the wrapper Django makes for it.
        other = databases()
        taken.append(_raw(other))
        with other.cursor() as cursor:
            cursor.execute("INSERT INTO parent (id) VALUES (1)")
        other.close()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    assert taken == [raw]
    assert pool.idle_count(databases.path) == 1
    again = databases()
    with again.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parent")
        assert cursor.fetchone() == (1,)
    again.close()


def test_a_connection_closed_inside_a_transaction_comes_back_rolled_back(
    databases: Any,
) -> None:
    db = databases()
    raw = _raw(db)
    raw.execute("BEGIN IMMEDIATE")  # As a request cut off inside its transaction leaves it.
    raw.execute("INSERT INTO parent (id) VALUES (7)")
    assert raw.in_transaction
    db.close()
    other = databases()
    assert _raw(other) is raw
    assert not raw.in_transaction
    with other.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parent")
        assert cursor.fetchone() == (0,)
        # The file is free for a writer: nothing holds its write lock.
        cursor.execute("INSERT INTO parent (id) VALUES (8)")
    other.close()


def test_a_connection_closed_inside_an_atomic_block_is_closed_for_good(databases: Any) -> None:
    db = databases()
    raw = _raw(db)
    db.in_atomic_block = True  # As a request closed inside transaction.atomic() leaves it.
    try:
        db.close()
    finally:
        db.in_atomic_block = False
    assert pool.idle_count(databases.path) == 0
    assert db.connection is raw  # Django keeps it there: its next use must fail, not work.
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")


def test_the_idle_connections_are_forgotten_in_a_forked_child(databases: Any) -> None:
    db = databases()
    _raw(db)
    db.close()
    assert pool.idle_count(databases.path) == 1
    child = os.fork()
    if child == 0:  # The child: the parent's connection is not its own to take.
        os._exit(0 if pool.idle_count(databases.path) == 0 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pool.idle_count(databases.path) == 1  # The parent's is still there for it.


def test_foreign_keys_are_on_again_when_a_connection_is_taken(databases: Any) -> None:
    db = databases()
    raw = _raw(db)
    raw.execute("PRAGMA foreign_keys = OFF")  # As a schema change leaves it for a while.
    db.close()
    other = databases()
    assert _raw(other) is raw
    with pytest.raises(IntegrityError), other.cursor() as cursor:
        cursor.execute("INSERT INTO child (id, parent_id) VALUES (1, 99)")
    other.close()


def test_a_connection_after_a_database_error_is_not_kept(databases: Any) -> None:
    db = databases()
    raw = _raw(db)
    db.errors_occurred = True  # What Django's wrap_database_errors sets on such an error.
    db.close()
    assert pool.idle_count(databases.path) == 0
    other = databases()
    assert _raw(other) is not raw
    other.close()


def test_a_file_made_again_under_the_same_name_gets_new_connections(databases: Any) -> None:
    db = databases()
    raw = _raw(db)
    db.close()
    assert pool.idle_count(databases.path) == 1
    for suffix in ("", "-wal", "-shm"):  # As a test run's database is dropped and made.
        Path(databases.path + suffix).unlink(missing_ok=True)
    fresh = databases()
    new = _raw(fresh)
    assert new is not raw
    with fresh.cursor() as cursor:  # The new, empty file: not the old one's tables.
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'parent'")
        assert cursor.fetchone() == (0,)
    fresh.close()
    assert pool.idle_count(databases.path) == 1
    assert _raw(databases()) is new


def test_idle_connections_are_bounded(databases: Any) -> None:
    wrappers = [databases() for _ in range(pool.IDLE_MAX + 3)]
    raws = [_raw(db) for db in wrappers]
    assert len({id(raw) for raw in raws}) == len(raws)
    for db in wrappers:
        db.close()
    assert pool.idle_count(databases.path) == pool.IDLE_MAX
    assert pool.clear() == pool.IDLE_MAX
    assert pool.idle_count(databases.path) == 0


def test_in_memory_databases_are_left_to_django() -> None:
    db = ConnectionHandler(
        {"default": {"ENGINE": "harbor_messaging.sqlite_pool", "NAME": ":memory:"}}
    )["default"]
    raw = _raw(db)
    db.close()  # Django keeps an in-memory database's one connection: closing would drop it.
    assert db.connection is raw
    assert pool.idle_count(":memory:") == 0
