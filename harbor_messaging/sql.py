"""Plain SQL for the few hot statements where the ORM's setting up and compiling of a query
cost more than the database spent running it (the send, the inbox page's extras).

The statements stay the same on SQLite and PostgreSQL; only their placeholder lists vary.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

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


@dataclass(frozen=True)
class Write:
    """One data-modifying statement (an ``INSERT``), run alone or, on PostgreSQL, as a
    ``WITH`` clause of another statement so that both are one round trip and one
    transaction (``with_writes``)."""

    sql: str
    params: list[Any]


def insert_instance(obj: Model) -> Write:
    """The ``INSERT`` of a new model instance whose primary key is already set, with its
    values prepared as ``Model.save`` prepares them (``auto_now`` and the like included)."""
    meta = obj._meta
    quote = connection.ops.quote_name
    fields = list(meta.local_concrete_fields)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    return Write(f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks(values)})", values)


def with_writes(writes: Sequence[Write], statement: str, params: Sequence[Any]) -> Write:
    """``statement`` with ``writes`` run in it first, as ``WITH`` clauses (PostgreSQL: a
    data-modifying ``WITH`` runs to completion whether or not the statement reads it)."""
    if not writes:
        return Write(statement, list(params))
    clauses = ", ".join(f"write_{number} AS ({w.sql})" for number, w in enumerate(writes))
    if statement.startswith("WITH "):
        statement = statement[len("WITH ") :]
        head = f"WITH {clauses}, "
    else:
        head = f"WITH {clauses} "
    return Write(head + statement, [p for w in writes for p in w.params] + list(params))


def run_writes(writes: Sequence[Write]) -> None:
    """The writes, in the order given: on PostgreSQL as one statement, elsewhere one each
    (inside the caller's transaction)."""
    if not writes:
        return
    if connection.vendor == "postgresql":
        *before, last = writes
        statements = [with_writes(before, last.sql, last.params)]
    else:
        statements = list(writes)
    with connection.cursor() as cursor:
        for write in statements:
            cursor.execute(write.sql, write.params)
