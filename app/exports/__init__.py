"""Trainer-ready datasets from a job's judgments (docs/exports.md), streamed in flat memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Engine

from app.db.session import read_connection
from app.exports.conversations import check_job_content
from app.exports.encoders import encode
from app.exports.options import ExportOptionError, ExportOptions
from app.exports.records import Record, count_candidates, iter_records

__all__ = [
    "ExportOptionError",
    "ExportOptions",
    "check_content",
    "count_candidates",
    "export_bytes",
]


def check_content(engine: Engine, job_id: int, options: ExportOptions) -> None:
    """Raise ExportOptionError if the job holds prompts the format cannot write."""
    with read_connection(engine) as connection:
        check_job_content(connection, job_id, options)


def export_bytes(
    engine: Engine,
    job_id: int,
    options: ExportOptions,
    on_record: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export's bytes, chunk by chunk; the connection is held only while iterating.
    `on_record(n)` is told how many records have been produced so far, every few thousand."""
    with read_connection(engine) as connection:
        records: Iterator[Record] = iter_records(connection, job_id, options)
        if on_record is not None:
            records = _counted(records, on_record)
        yield from encode(records, options)


def _counted(records: Iterator[Record], on_record: Callable[[int], None]) -> Iterator[Record]:
    n = 0
    for n, record in enumerate(records, start=1):
        if n % 5_000 == 0:
            on_record(n)
        yield record
    on_record(n)
