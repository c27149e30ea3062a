"""The two bulk primitives every ingest path uses: look up which keys exist already, and append
new rows fast (COPY on PostgreSQL, executemany on SQLite).

Ingest writes only rows it has checked are new, straight into their tables; a concurrent batch
that wins a race for the same key makes the insert fail with a unique violation, and the caller
retries the batch (`commit_with_retry`), which then finds those keys existing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Column, ColumnElement, Row, Table, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")
LOOKUP_CHUNK = 5000  # keeps every IN list well below SQLite's bound-parameter limit
UNIQUE_VIOLATION_ATTEMPTS = 3


def matching_rows(
    session: Session,
    key: Column[Any],
    values: Iterable[Any],
    columns: Sequence[Column[Any]],
    where: ColumnElement[bool] | None = None,
) -> list[Row[Any]]:
    """`columns` of every row whose `key` is one of `values`."""
    values = list(dict.fromkeys(values))
    postgres = session.connection().dialect.name == "postgresql"
    # One array parameter on PostgreSQL; IN lists in chunks on SQLite (its parameter limit).
    chunk = max(len(values), 1) if postgres else LOOKUP_CHUNK
    rows: list[Row[Any]] = []
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        matches = (
            key == any_(bindparam("keys", part, type_=postgresql.ARRAY(key.type)))
            if postgres
            else key.in_(part)
        )
        query = select(*columns).where(matches)
        if where is not None:
            query = query.where(where)
        rows.extend(session.execute(query))
    return rows


def existing_rows(
    session: Session,
    key: Column[Any],
    values: Iterable[Any],
    returning: Sequence[Column[Any]] = (),
    where: ColumnElement[bool] | None = None,
) -> dict[Any, tuple[Any, ...]]:
    """Map each of `values` found in the unique column `key` to its `returning` values."""
    found = matching_rows(session, key, values, [key, *returning], where)
    return {row[0]: tuple(row[1:]) for row in found}


def append_rows(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows known to be new. Values must be in the database's own text form for UUIDs
    (32 hex digits) and JSON (a string)."""
    if not rows:
        return
    connection = session.connection()
    raw = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", rows)


def commit_with_retry(session: Session, attempt: Callable[[], T]) -> T:
    """Run `attempt` and commit. If a concurrent transaction inserted one of its keys first, roll
    back and run it again: the keys are then found existing."""
    for remaining in range(UNIQUE_VIOLATION_ATTEMPTS - 1, -1, -1):
        try:
            result = attempt()
            session.commit()
            return result
        except (IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError) as exc:
            session.rollback()
            if remaining == 0 or not _is_unique_violation(exc):
                raise
    raise AssertionError("unreachable")


def _is_unique_violation(exc: Exception) -> bool:
    original = exc.orig if isinstance(exc, IntegrityError) else exc
    return getattr(original, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        original
    )
