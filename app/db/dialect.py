"""Everything that differs between PostgreSQL and SQLite, in one place.

Callers never test the dialect themselves; they ask this module for the statement or the
mechanism they need: an insert that ignores conflicts, a claim that skips locked rows, a bulk
append (COPY on PostgreSQL), a key lookup (one array parameter on PostgreSQL), a streamed read
(a server-side binary cursor on PostgreSQL).
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    Subquery,
    Table,
    any_,
    bindparam,
    event,
    func,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

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
    # connect_timeout bounds the wait for a server that does not answer, so requests fail fast
    # (503) while it is away; prepare_engine replaces connections a database restart closed.
    return {
        "pool_size": 10,
        "max_overflow": 20,
        "pool_timeout": 10,
        "connect_args": {"connect_timeout": 5},
    }


# A pooled PostgreSQL connection that rested longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0


def prepare_engine(engine: Engine) -> None:
    """Per-connection settings (SQLite's pragmas); on PostgreSQL, connections a database restart
    closed are replaced before use."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        return
    # SQLAlchemy's pool_pre_ping would ping on every checkout: a round trip per request, a
    # tenth of the rating page's. A connection back in use within a second is as alive as a
    # ping would show; one that rested longer is pinged, and a dead one is replaced (the pool
    # retries the checkout on DisconnectionError).
    event.listen(engine.pool, "checkin", _note_rest_start)
    event.listen(engine.pool, "checkout", _ping_after_rest(engine))


def _note_rest_start(_dbapi_connection: Any, record: Any) -> None:
    record.info["rest_started"] = time.monotonic()


def _ping_after_rest(engine: Engine) -> Callable[[Any, Any, Any], None]:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rest_started = record.info.pop("rest_started", None)
        if rest_started is None or time.monotonic() - rest_started < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except psycopg.Error as error:
            raise DisconnectionError("the connection did not answer a ping") from error
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")

    return ping


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for running migrations.

    SQLite changes a table by copying it into a new one and dropping the old one; with foreign
    keys on, dropping `jobs` would delete every row that cascades from it. Foreign keys are off
    while SQLite migrates (the pragma only takes effect outside a transaction) and checked after.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def runs_worker_in_server(engine: Engine) -> bool:
    """The default for PREFARM_INPROCESS_WORKER: SQLite is one machine, so one process does all."""
    return engine.dialect.name == "sqlite"


def insert_ignoring_conflicts(session: Session, table: Table | type[Any]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, into a table or a mapped class."""
    if is_postgres(session):
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def chains_writes(session: Session) -> bool:
    """Whether one statement can pick, update and insert rows at once (PostgreSQL's
    data-modifying WITH), saving round trips on hot paths. SQLite cannot."""
    return is_postgres(session)


def skip_locked(query: Select[Any], *of: Any) -> Select[Any]:
    """Lock the picked rows and pass over rows other transactions hold (PostgreSQL). SQLite has
    one writer at a time, so there is nothing to lock or skip.

    The lock is FOR NO KEY UPDATE: pickers update the rows, never their keys, and so do not
    block the inserts that reference them (a foreign key check takes KEY SHARE)."""
    # SQLAlchemy renders nothing for FOR UPDATE on SQLite; the call is the same on both.
    return query.with_for_update(skip_locked=True, key_share=True, of=list(of) or None)


def first_rows_per_group(
    session: Session, groups: Subquery | CTE, candidates: Select[Any, Any], group_key: KeyColumn
) -> Subquery:
    """For each row of `groups` (columns `key` and `share`), the first `share` rows of
    `candidates` (a SELECT of `id` and `group_key`, restricted to `group_key = key`) in id order,
    as a subquery of `key`, `id` and `rank` (1, 2, … within the group).

    PostgreSQL: a LATERAL subquery per group that locks the rows it takes and skips rows other
    transactions hold, so concurrent claimers pass each other; each group reads only the index
    entries it takes. SQLite (one writer, nothing to lock): the same rows by a window function.
    """
    id_column = candidates.selected_columns.id
    if is_postgres(session):
        per_group = (
            candidates.where(group_key == groups.c.key)
            .order_by(id_column)
            .limit(groups.c.share)
            .with_for_update(skip_locked=True)
            .lateral("per_group")
        )
        return (
            select(
                groups.c.key,
                per_group.c.id,
                func.row_number()
                .over(partition_by=groups.c.key, order_by=per_group.c.id)
                .label("rank"),
            )
            .select_from(groups.join(per_group, true()))
            .subquery("firsts")
        )
    ranked = (
        candidates.add_columns(
            func.row_number().over(partition_by=group_key, order_by=id_column).label("rank"),
            groups.c.share,
        )
        .join(groups, group_key == groups.c.key)
        .subquery("ranked")
    )
    return (
        select(ranked.c[group_key.name].label("key"), ranked.c.id, ranked.c.rank)
        .where(ranked.c.rank <= ranked.c.share)
        .subquery("firsts")
    )


def skip_locked_for_share(query: Select[Any]) -> Select[Any]:
    """Share-lock the picked rows (others may read and key-share them, not change them) and
    pass over rows other transactions are changing (PostgreSQL). Nothing to lock on SQLite."""
    return query.with_for_update(read=True, skip_locked=True)


def lock_waiting(query: Select[Any], *of: Any) -> Select[Any]:
    """Lock the picked rows (FOR NO KEY UPDATE, as `skip_locked`), waiting for other
    transactions that hold them (PostgreSQL; after the wait a row that no longer matches is
    passed over). Nothing to lock on SQLite."""
    return query.with_for_update(key_share=True, of=list(of) or None)


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


# PostgreSQL errors that mean "the server is not there for now": connection exceptions (08…),
# too many connections, and the shutdown / start-up states of a restart.
_UNAVAILABLE_SQLSTATES = ("53300", "57P01", "57P02", "57P03")
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk I/O error")


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached right now (it is restarting, the
    network is down, every connection is busy) rather than that the statement was wrong: the
    request may simply be tried again a little later."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    if isinstance(original, psycopg.OperationalError | psycopg.InterfaceError):
        sqlstate = original.sqlstate
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    if isinstance(original, sqlite3.OperationalError):
        return any(reason in str(original) for reason in _SQLITE_UNAVAILABLE)
    return False


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


class line_regex_match(FunctionElement[bool]):
    """`line_regex_match(text, pattern)`: whether a regular expression matches the text, with
    `^` and `$` matching at every line (Python's re.MULTILINE). PostgreSQL's `~` in its
    "inverse partial newline-sensitive" mode (?w); on SQLite, SQLAlchemy's REGEXP function,
    which is Python's re.search."""

    type = Boolean()
    inherit_cache = True
    name = "line_regex_match"


@compiles(line_regex_match, "postgresql")
def _line_regex_postgresql(element: line_regex_match, compiler: SQLCompiler, **kw: Any) -> str:
    text_column, pattern = list(element.clauses)
    return (
        f"({compiler.process(text_column, **kw)} ~ ('(?w)' || {compiler.process(pattern, **kw)}))"
    )


@compiles(line_regex_match, "sqlite")
def _line_regex_sqlite(element: line_regex_match, compiler: SQLCompiler, **kw: Any) -> str:
    text_column, pattern = list(element.clauses)
    return (
        f"({compiler.process(text_column, **kw)} REGEXP "
        f"('(?m)' || {compiler.process(pattern, **kw)}))"
    )
