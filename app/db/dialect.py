"""Everything that differs between PostgreSQL and SQLite, in one place.

Callers never test the dialect themselves; they ask this module for the statement or the
mechanism they need: an insert that ignores conflicts, a claim that skips locked rows, a bulk
append (COPY on PostgreSQL), a key lookup (one array parameter on PostgreSQL), a streamed read
(a server-side binary cursor on PostgreSQL).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    Table,
    any_,
    bindparam,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session

SQLITE_PARAMETER_CHUNK = 5000  # keeps every IN list well below SQLite's bound-parameter limit
_cursor_numbers = itertools.count()

Bind = Session | Connection | Engine
# A column to look keys up in: a Core column or a mapped attribute.
KeyColumn = Column[Any] | QueryableAttribute[Any]


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def is_postgres(bind: Bind) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while the one writer writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_options(url: str) -> dict[str, Any]:
    """Keyword arguments of `create_engine` for this database."""
    if is_sqlite_url(url):
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}


def prepare_engine(engine: Engine) -> None:
    """Per-connection settings (SQLite's pragmas)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


def runs_worker_in_server(engine: Engine) -> bool:
    """The default for PREFARM_INPROCESS_WORKER: SQLite is one machine, so one process does all."""
    return engine.dialect.name == "sqlite"


def insert_ignoring_conflicts(session: Session, table: Table | type[Any]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, into a table or a mapped class."""
    if is_postgres(session):
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def skip_locked(query: Select[Any], *of: Any) -> Select[Any]:
    """Lock the picked rows and pass over rows other transactions hold (PostgreSQL). SQLite has
    one writer at a time, so there is nothing to lock or skip."""
    # SQLAlchemy renders nothing for FOR UPDATE on SQLite; the call is the same on both.
    return query.with_for_update(skip_locked=True, of=list(of) or None)


def lock_waiting(query: Select[Any], *of: Any) -> Select[Any]:
    """Lock the picked rows, waiting for other transactions that hold them (PostgreSQL; after
    the wait a row that no longer matches is passed over). Nothing to lock on SQLite."""
    return query.with_for_update(of=list(of) or None)


def key_in(session: Session, key: KeyColumn, values: list[Any]) -> Iterator[ColumnElement[bool]]:
    """Conditions `key is one of values`: one array parameter on PostgreSQL, IN lists of at
    most SQLITE_PARAMETER_CHUNK values on SQLite (its bound-parameter limit)."""
    if is_postgres(session):
        yield key == any_(bindparam("keys", values, type_=postgresql.ARRAY(key.type)))
        return
    for start in range(0, len(values), SQLITE_PARAMETER_CHUNK):
        yield key.in_(values[start : start + SQLITE_PARAMETER_CHUNK])


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """`values` in slices small enough for an expanding IN list on any database."""
    for start in range(0, len(values), SQLITE_PARAMETER_CHUNK):
        yield values[start : start + SQLITE_PARAMETER_CHUNK]


def _driver_connection(connection: Connection) -> Any:
    """The DB-API connection of psycopg or sqlite3 under a SQLAlchemy connection."""
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    return raw


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Append rows: COPY on PostgreSQL, executemany on SQLite. Values must be in the database's
    own text form for UUIDs (32 hex digits) and JSON (a string)."""
    connection = session.connection()
    raw = _driver_connection(connection)
    names = ", ".join(columns)
    if is_postgres(session):
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", rows)


def is_unique_violation(exc: BaseException) -> bool:
    original = exc.orig if isinstance(exc, IntegrityError) else exc
    if isinstance(original, psycopg.IntegrityError):
        return original.sqlstate == "23505"
    return isinstance(original, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(
        original
    )


def retries_unique_violations(session: Session) -> bool:
    """Whether a batch that lost a race for a unique key can be retried in the same transaction
    (from a savepoint). PostgreSQL: yes. SQLite serialises writers, so the race cannot happen
    there (and its driver's savepoints are unreliable)."""
    return is_postgres(session)


def is_retryable_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction may simply be run again."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40P01", "40001")


def stream_batches(
    connection: Connection, query: Select[Any], batch_rows: int
) -> Iterator[Sequence[Any]]:
    """The query's rows in batches, read through a server-side cursor.

    On PostgreSQL the compiled query runs in a psycopg server-side cursor in binary mode, which
    decodes each batch in C: about half the CPU of SQLAlchemy's result rows (bench/export.py).
    Timestamps come back as UTC-aware datetimes. On SQLite, SQLAlchemy's streaming result."""
    if not is_postgres(connection):
        result = connection.execute(
            query, execution_options={"stream_results": True, "yield_per": batch_rows}
        )
        yield from result.partitions()
        return
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    # A cursor is planned for its first rows by default (nested loops); we read them all.
    connection.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    connection.execute(text("SET LOCAL work_mem = '64MB'"))
    connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    raw = _driver_connection(connection)
    with raw.cursor(name=f"prefarm_stream_{next(_cursor_numbers)}", binary=True) as cursor:
        cursor.execute(compiled.string, compiled.construct_params())
        while batch := cursor.fetchmany(batch_rows):
            yield batch
