"""The two ways to reach the database.

- `unit_of_work(engine)`: a Session whose work is committed when the block ends normally and
  rolled back when it raises. Each HTTP request runs in one (app.http.deps), each worker write is
  one, each operator command is one. Domain functions take the Session and never commit.
- `read_connection(engine)`: a Connection for long streamed reads (statistics, exports) and
  probes, outside any unit of work; nothing it does is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result
from sqlalchemy.orm import Session


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return cast(CursorResult[Any], result).rowcount or 0


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def plain_connection(session: Session) -> Connection:
    """The session's connection, for the hot statements that read or write rows without loading
    them into the session: the ORM's work around each statement cost more than the statement.
    Pending changes are flushed first, as `Session.execute` would."""
    session.flush()
    return session.connection()


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        try:
            yield connection
        finally:
            connection.rollback()
