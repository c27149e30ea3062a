"""Storing a batch of comparisons: content-addressed texts, idempotent external ids."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.api.errors import ApiError
from app.db.models import Job
from app.ingest.parse import RowErrors
from app.ingest.rows import ComparisonRow
from app.ingest.staging import Column, staging_table

STAGE_COLUMNS: list[Column] = [
    ("row_no", "integer", "INTEGER"),
    ("external_id", "text", "TEXT"),
    ("content_sha256", "text", "TEXT"),
    ("instruction_id", "uuid", "TEXT"),
    ("instruction", "text", "TEXT"),
    ("input", "text", "TEXT"),
    ("output_1_id", "uuid", "TEXT"),
    ("generator_1", "text", "TEXT"),
    ("output_1", "text", "TEXT"),
    ("output_2_id", "uuid", "TEXT"),
    ("generator_2", "text", "TEXT"),
    ("output_2", "text", "TEXT"),
    ("gold_preference", "double precision", "REAL"),
    ("metadata", "json", "TEXT"),
]


@dataclass(frozen=True)
class IngestCounts:
    received: int
    created: int

    @property
    def unchanged(self) -> int:
        return self.received - self.created


def _content_uuid(*parts: Any) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(orjson.dumps(parts)).digest()[:16])


def instruction_uuid(instruction: str, input_text: str) -> uuid.UUID:
    return _content_uuid("instruction", instruction, input_text)


def output_uuid(instruction_id: uuid.UUID, generator: str, output: str) -> uuid.UUID:
    return _content_uuid("output", instruction_id.hex, generator, output)


def _stage_row(row_no: int, row: ComparisonRow) -> tuple[Any, ...]:
    instruction_id = instruction_uuid(row.instruction, row.input)
    output_1_id = output_uuid(instruction_id, row.generator_1, row.output_1)
    output_2_id = output_uuid(instruction_id, row.generator_2, row.output_2)
    metadata = orjson.dumps(row.metadata, option=orjson.OPT_SORT_KEYS) if row.metadata else None
    content = hashlib.sha256(
        orjson.dumps([output_1_id.hex, output_2_id.hex, row.gold_preference]) + (metadata or b"")
    ).hexdigest()
    return (
        row_no,
        row.id if row.id is not None else f"sha256:{content[:32]}",
        content,
        instruction_id.hex,
        row.instruction,
        row.input,
        output_1_id.hex,
        row.generator_1,
        row.output_1,
        output_2_id.hex,
        row.generator_2,
        row.output_2,
        row.gold_preference,
        metadata.decode() if metadata else None,
    )


def initial_route(job: Job) -> str:
    return "human" if job.routing.get("policy") == "human" else "simulated"


def store_comparisons(session: Session, job: Job, rows: list[ComparisonRow]) -> IngestCounts:
    """All rows or none. Raises ApiError (422 duplicate ids, 409 changed content)."""
    if job.status == "cancelled":
        raise ApiError(409, "job_cancelled", f"job {job.id} is cancelled and takes no more work")
    staged = [_stage_row(row_no, row) for row_no, row in enumerate(rows, start=1)]
    _reject_duplicate_ids(staged)

    with staging_table(session, "stage_comparisons", STAGE_COLUMNS, staged) as stage:
        session.execute(
            text(
                f"INSERT INTO instructions (id, instruction, input) "
                f"SELECT instruction_id, instruction, input FROM {stage} WHERE true "
                f"ON CONFLICT (id) DO NOTHING"
            )
        )
        session.execute(
            text(
                f"INSERT INTO outputs (id, instruction_id, generator, text) "
                f"SELECT output_1_id, instruction_id, generator_1, output_1 FROM {stage} "
                f"UNION ALL "
                f"SELECT output_2_id, instruction_id, generator_2, output_2 FROM {stage} "
                f"WHERE true ON CONFLICT (id) DO NOTHING"
            )
        )
        created = session.execute(
            text(
                f"INSERT INTO comparisons (job_id, external_id, instruction_id, output_1_id, "
                f"output_2_id, gold_preference, route, status, metadata, content_sha256) "
                f"SELECT :job_id, external_id, instruction_id, output_1_id, output_2_id, "
                f"gold_preference, :route, 'pending', metadata, content_sha256 "
                f"FROM {stage} WHERE true ORDER BY row_no "
                f"ON CONFLICT (job_id, external_id) DO NOTHING"
            ),
            {"job_id": job.id, "route": initial_route(job)},
        ).rowcount
        # Checked after the insert, so a concurrent batch with the same ids is seen committed.
        changed = session.execute(
            text(
                f"SELECT s.row_no, s.external_id FROM {stage} s JOIN comparisons c "
                f"ON c.job_id = :job_id AND c.external_id = s.external_id "
                f"WHERE c.content_sha256 <> s.content_sha256 ORDER BY s.row_no LIMIT 100"
            ),
            {"job_id": job.id},
        ).all()
    if changed:
        raise ApiError(
            409,
            "id_conflict",
            "these ids are stored already with other content; nothing was stored",
            {
                "errors": [
                    {"row": r.row_no, "field": "id", "reason": f"id {r.external_id!r} differs"}
                    for r in changed
                ]
            },
        )
    return IngestCounts(received=len(rows), created=created)


def _reject_duplicate_ids(staged: list[tuple[Any, ...]]) -> None:
    first_row: dict[str, int] = {}
    errors = RowErrors()
    for row_no, external_id, *_ in staged:
        if external_id in first_row:
            errors.add(
                row_no, "id", f"id {external_id!r} appears already in row {first_row[external_id]}"
            )
        else:
            first_row[external_id] = row_no
    errors.raise_if_any("the batch repeats ids; nothing was stored")
