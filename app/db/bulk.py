"""The bulk primitives every ingest path uses: look up which keys exist already, append new rows
fast, and retry a batch that lost a race for a unique key.

Ingest writes only rows it has checked are new, straight into their tables; a concurrent batch
that wins a race for the same key makes the append fail with a unique violation, and the batch
is run again from a savepoint (`retry_on_unique_violation`), which then finds those keys stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from sqlalchemy import ColumnElement, Row, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.dialect import (
    KeyColumn,
    copy_rows,
    is_unique_violation,
    key_in,
    retries_unique_violations,
)

T = TypeVar("T")
UNIQUE_VIOLATION_ATTEMPTS = 3


def matching_rows(
    session: Session,
    key: KeyColumn,
    values: Iterable[Any],
    columns: Sequence[KeyColumn],
    where: ColumnElement[bool] | None = None,
) -> list[Row[Any]]:
    """`columns` of every row whose `key` is one of `values`."""
    distinct = list(dict.fromkeys(values))
    if not distinct:
        return []
    rows: list[Row[Any]] = []
    for condition in key_in(session, key, distinct):
        query = select(*columns).where(condition)
        if where is not None:
            query = query.where(where)
        rows.extend(session.execute(query))
    return rows


def existing_rows(
    session: Session,
    key: KeyColumn,
    values: Iterable[Any],
    returning: Sequence[KeyColumn] = (),
    where: ColumnElement[bool] | None = None,
) -> dict[Any, tuple[Any, ...]]:
    """Map each of `values` found in the unique column `key` to its `returning` values."""
    found = matching_rows(session, key, values, [key, *returning], where)
    return {row[0]: tuple(row[1:]) for row in found}


def append_rows(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows known to be new (see app.db.dialect.copy_rows for the value forms)."""
    if rows:
        copy_rows(session, table, columns, rows)


def retry_on_unique_violation(session: Session, attempt: Callable[[], T]) -> T:
    """Run `attempt`; if a concurrent transaction inserted one of its keys first, undo the
    attempt (back to a savepoint) and run it again: the keys are then found stored."""
    if not retries_unique_violations(session):
        return attempt()
    for remaining in range(UNIQUE_VIOLATION_ATTEMPTS - 1, -1, -1):
        try:
            with session.begin_nested():  # PostgreSQL only (retries_unique_violations)
                return attempt()
        except (IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError) as exc:
            if remaining == 0 or not is_unique_violation(exc):
                raise
    raise AssertionError("unreachable")
