"""Plain SQL for the few hot statements where the ORM's setting up and compiling of a query
cost more than the database spent running it (the send, the inbox page's extras).

The statements stay the same on SQLite and PostgreSQL; only their placeholder lists vary.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any

from django.db import connection

# Rows per INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
BATCH = 1000


def marks(values: Sized) -> str:
    """One ``%s`` per value, comma-separated: an ``IN (...)`` list's placeholders."""
    return ", ".join(["%s"] * len(values))


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def values_list(rows: Sequence[Sequence[Any]], row: str = "") -> tuple[str, list[Any]]:
    """A ``VALUES`` list's placeholders for ``rows`` (each ``row``, by default plain
    ``%s``es) and its parameters, row after row."""
    mark = row or f"({marks(rows[0])})"
    return ", ".join([mark] * len(rows)), [value for each in rows for value in each]


def insert_rows(
    head: str, rows: Sequence[Sequence[Any]], *, tail: str = "", batch: int = BATCH
) -> list[tuple[Any, ...]]:
    """``INSERT INTO <head> VALUES (...), ... <tail>``, ``batch`` rows a statement, in the
    order given; what a ``RETURNING`` in ``tail`` gives back, in that order too."""
    returned: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), batch):
        values, params = values_list(rows[start : start + batch])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {head} VALUES {values} {tail}", params)
            if cursor.description is not None:
                returned += cursor.fetchall()
    return returned
