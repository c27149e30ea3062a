"""Temporary staging tables, filled by COPY on PostgreSQL and executemany on SQLite.

Bulk writes go through a staging table so that de-duplication, conflict checks and the final
inserts are a few set-based statements, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# (name, PostgreSQL type, SQLite type)
Column = tuple[str, str, str]


@contextmanager
def staging_table(
    session: Session, name: str, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]
) -> Iterator[str]:
    """Create `name` as a temporary table holding `rows`; it is gone when the block ends."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    column_sql = ", ".join(f"{col} {pg if postgres else lite}" for col, pg, lite in columns)
    names = ", ".join(col for col, _, _ in columns)
    raw = connection.connection.driver_connection
    if postgres:
        connection.execute(text(f"CREATE TEMP TABLE {name} ({column_sql}) ON COMMIT DROP"))
        with raw.cursor() as cursor, cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute(text(f"ANALYZE {name}"))
    else:
        connection.execute(text(f"CREATE TEMP TABLE {name} ({column_sql})"))
        placeholders = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {name} ({names}) VALUES ({placeholders})", rows)
    try:
        yield name
    finally:
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
