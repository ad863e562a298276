"""DATABASE_URL's PostgreSQL options: conn_max_age, Django's connection pool, and the
server-side binding and prepared statements on by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from harbor_messaging.settings import _database_from_url

DATA = Path("/tmp")


def test_no_pool_by_default_and_libpq_options_pass_through() -> None:
    db = _database_from_url("postgres://u:p%40ss@db:5433/harbor?sslmode=require", DATA)
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "harbor",
        "u",
        "p@ss",
        "db",
        "5433",
    )
    assert db["OPTIONS"] == {
        "sslmode": "require",
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert db["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("query", "binding", "threshold"),
    [
        ("server_side_binding=off", False, 5),
        ("prepare_threshold=off", True, None),
        ("server_side_binding=yes&prepare_threshold=2", True, 2),
    ],
)
def test_server_side_binding_and_prepared_statements_can_be_turned_off(
    query: str, binding: bool, threshold: int | None
) -> None:
    db = _database_from_url(f"postgres://u@db/harbor?{query}", DATA)
    assert db["OPTIONS"]["server_side_binding"] is binding
    assert db["OPTIONS"]["prepare_threshold"] == threshold


@pytest.mark.parametrize(
    ("value", "size"), [("1", 20), ("true", 20), ("on", 20), ("8", 8), ("0", None), ("no", None)]
)
def test_pool_takes_a_size_or_a_yes(value: str, size: int | None) -> None:
    db = _database_from_url(f"postgres://u@db/harbor?pool={value}", DATA)
    if size is None:
        assert "pool" not in db["OPTIONS"]
    else:
        assert db["OPTIONS"]["pool"] == {"min_size": min(4, size), "max_size": size, "timeout": 10}


@pytest.mark.parametrize(
    "query",
    [
        "pool=lots",
        "pool=8&conn_max_age=60",
        "pool=-3",
        "server_side_binding=maybe",
        "prepare_threshold=-1",
    ],
)
def test_a_pool_setting_that_cannot_work_is_refused(query: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        _database_from_url(f"postgres://u@db/harbor?{query}", DATA)


@pytest.mark.django_db
def test_a_sqlite_connection_is_in_wal_and_checkpoints_at_its_own_size() -> None:
    """The embedded default's connections get every pragma of its init_command."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's pragmas")
    with connection.cursor() as cursor:
        pragma = {}
        for name in ("journal_mode", "synchronous", "wal_autocheckpoint", "cache_size"):
            cursor.execute(f"PRAGMA {name}")
            pragma[name] = cursor.fetchone()[0]
    # synchronous 1 is NORMAL; a negative cache_size is KiB.
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "wal_autocheckpoint": 10000,
        "cache_size": -16384,
    }
