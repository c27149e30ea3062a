"""Turning records into bytes a chunk at a time: JSONL, CSV, Parquet (row groups), gzip."""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from app.exports.options import ExportOptions
from app.exports.records import Record

LINES_PER_CHUNK = 2_000
ROWS_PER_GROUP = 50_000
BYTES_PER_GROUP = 16 * 1024 * 1024

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_ANNOTATION_FIELDS = [
    ("annotation_id", pa.int64()),
    ("comparison_id", pa.string()),
    ("generator_1", pa.string()),
    ("generator_2", pa.string()),
    ("annotator", pa.string()),
    ("annotator_kind", pa.string()),
    ("repeat", pa.int32()),
    ("preference", pa.float64()),
    ("label", pa.string()),
    ("shown_swapped", pa.bool_()),
    ("is_noisy_label", pa.bool_()),
    ("cost_usd", pa.float64()),
    ("latency_ms", pa.float64()),
    ("seconds_on_task", pa.float64()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("strength", pa.int32()),
    ("guideline_version", pa.int32()),
    ("rationale", pa.string()),
    ("parse_error", pa.string()),
    ("raw_completion_chars", pa.int64()),
    ("config_sha256", pa.string()),
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("source", pa.string()),
]


def parquet_schema(options: ExportOptions) -> pa.Schema:
    if options.format == "annotations":
        fields = list(_ANNOTATION_FIELDS)
    else:
        text = _MESSAGES if options.conversational else pa.string()
        fields = [
            ("comparison_id", pa.string()),
            ("prompt", text),
            ("chosen", text),
            ("rejected", text),
            ("chosen_generator", pa.string()),
            ("rejected_generator", pa.string()),
            ("vote_agreement", pa.float64()),
        ]
    if options.test_fraction > 0:
        fields.append(("split", pa.string()))
    return pa.schema(fields)


def jsonl_chunks(records: Iterable[Record]) -> Iterator[bytes]:
    dumps = orjson.dumps
    lines: list[bytes] = []
    for record in records:
        lines.append(dumps(record))
        if len(lines) >= LINES_PER_CHUNK:
            lines.append(b"")
            yield b"\n".join(lines)
            lines = []
    if lines:
        lines.append(b"")
        yield b"\n".join(lines)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else value


def csv_chunks(records: Iterable[Record]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    lines = 0
    header_written = False
    for record in records:
        if not header_written:
            writer.writerow(record.keys())
            header_written = True
        writer.writerow([_csv_value(v) for v in record.values()])
        lines += 1
        if lines >= LINES_PER_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            lines = 0
    if buffer.tell():
        yield buffer.getvalue().encode()


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):  # message lists
        return sum(len(m["content"]) for m in value)
    return 8


def _row_groups(records: Iterable[Record]) -> Iterator[list[Record]]:
    """Batches of at most ROWS_PER_GROUP rows or about BYTES_PER_GROUP of text, whichever first,
    so long outputs do not make a row group (held in memory until written) large."""
    batch: list[Record] = []
    size = 0
    for record in records:
        batch.append(record)
        size += sum(_text_size(v) for v in record.values())
        if len(batch) >= ROWS_PER_GROUP or size >= BYTES_PER_GROUP:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def parquet_chunks(records: Iterable[Record], schema: pa.Schema) -> Iterator[bytes]:
    sink = _Drain()
    with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression="zstd") as writer:
        for batch in _row_groups(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            yield sink.take()
    yield sink.take()


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(5, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def encode(records: Iterable[Record], options: ExportOptions) -> Iterator[bytes]:
    if options.file_type == "parquet":
        return parquet_chunks(records, parquet_schema(options))
    chunks = jsonl_chunks(records) if options.file_type == "jsonl" else csv_chunks(records)
    return gzipped(chunks) if options.gzip else chunks
