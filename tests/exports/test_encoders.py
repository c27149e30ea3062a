"""Encoders write chunk by chunk without losing or repeating lines at chunk boundaries."""

from __future__ import annotations

import csv
import gzip
import io

import orjson
import pytest

from app.exports import encoders

RECORDS = [{"comparison_id": f"c{n}", "preference": 1.0 + n / 10, "label": None} for n in range(10)]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "LINES_PER_CHUNK", 3)


def test_jsonl_chunks_hold_every_line_once() -> None:
    chunks = list(encoders.jsonl_chunks(iter(RECORDS)))
    assert len(chunks) == 4
    assert [orjson.loads(line) for line in b"".join(chunks).splitlines()] == RECORDS


def test_csv_has_one_header_and_empty_cells_for_missing_values() -> None:
    text = b"".join(encoders.csv_chunks(iter(RECORDS))).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.count("comparison_id") == 1
    assert [row["comparison_id"] for row in rows] == [r["comparison_id"] for r in RECORDS]
    assert {row["label"] for row in rows} == {""}


def test_gzip_stream_decompresses_to_the_plain_bytes() -> None:
    plain = b"".join(encoders.jsonl_chunks(iter(RECORDS)))
    assert (
        gzip.decompress(b"".join(encoders.gzipped(encoders.jsonl_chunks(iter(RECORDS))))) == plain
    )
