"""Importing judgments made elsewhere (e.g. AlpacaEval annotations) into a job."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import Annotator
from app.ingest.comparisons import IngestCounts
from app.ingest.parse import RowErrors
from app.ingest.rows import AnnotationRow
from app.ingest.staging import Column, staging_table

STAGE_COLUMNS: list[Column] = [
    ("row_no", "integer", "INTEGER"),
    ("external_id", "text", "TEXT"),
    ("annotator_id", "integer", "INTEGER"),
    ("repeat", "integer", "INTEGER"),
    ("preference", "double precision", "REAL"),
    ("label", "text", "TEXT"),
    ("shown_swapped", "boolean", "INTEGER"),
    ("rationale", "text", "TEXT"),
    ("raw_completion", "text", "TEXT"),
    ("cost_usd", "double precision", "REAL"),
    ("prompt_tokens", "integer", "INTEGER"),
    ("completion_tokens", "integer", "INTEGER"),
    ("latency_ms", "double precision", "REAL"),
    ("seconds_on_task", "double precision", "REAL"),
    ("is_noisy_label", "boolean", "INTEGER"),
    ("metadata", "json", "TEXT"),
]

_COPIED = ", ".join(name for name, _, _ in STAGE_COLUMNS[3:])


def _annotator_ids(
    session: Session, rows: list[AnnotationRow], errors: RowErrors
) -> dict[str, int]:
    """Existing annotators by name; unknown names are registered with the kind the rows give."""
    kinds: dict[str, str] = {}
    for row_no, row in enumerate(rows, start=1):
        if kinds.setdefault(row.annotator, row.annotator_kind) != row.annotator_kind:
            errors.add(row_no, "annotator_kind", f"{row.annotator} is given two kinds")
    existing = {
        a.name: a for a in session.scalars(select(Annotator).where(Annotator.name.in_(kinds)))
    }
    for row_no, row in enumerate(rows, start=1):
        known = existing.get(row.annotator)
        if known is not None and known.kind != row.annotator_kind:
            errors.add(row_no, "annotator_kind", f"{row.annotator} is a {known.kind} annotator")
    errors.raise_if_any()
    for name, kind in kinds.items():
        if name not in existing:
            existing[name] = Annotator(name=name, kind=kind)
            session.add(existing[name])
    session.flush()
    return {name: annotator.id for name, annotator in existing.items()}


def _stage_row(row_no: int, row: AnnotationRow, annotator_id: int) -> tuple[Any, ...]:
    return (
        row_no,
        row.comparison_id,
        annotator_id,
        row.repeat,
        row.preference,
        row.label,
        row.shown_swapped,
        row.rationale,
        row.raw_completion,
        row.cost_usd,
        row.prompt_tokens,
        row.completion_tokens,
        row.latency_ms,
        row.seconds_on_task,
        row.is_noisy_label,
        orjson.dumps(row.metadata).decode() if row.metadata else None,
    )


def store_annotations(session: Session, job_id: int, rows: list[AnnotationRow]) -> IngestCounts:
    """All rows or none; a row whose (comparison, annotator, repeat) is stored already is kept
    as it was (re-posting is a no-op)."""
    errors = RowErrors()
    seen: dict[tuple[str, str, int], int] = {}
    for row_no, row in enumerate(rows, start=1):
        key = (row.comparison_id, row.annotator, row.repeat)
        if key in seen:
            errors.add(
                row_no, "comparison_id", f"same comparison, annotator and repeat as row {seen[key]}"
            )
        else:
            seen[key] = row_no
    errors.raise_if_any("the batch repeats a judgment; nothing was stored")
    annotator_ids = _annotator_ids(session, rows, errors)
    staged = [
        _stage_row(row_no, row, annotator_ids[row.annotator])
        for row_no, row in enumerate(rows, start=1)
    ]
    with staging_table(session, "stage_annotations", STAGE_COLUMNS, staged) as stage:
        missing = session.execute(
            text(
                f"SELECT s.row_no, s.external_id FROM {stage} s LEFT JOIN comparisons c "
                f"ON c.job_id = :job_id AND c.external_id = s.external_id "
                f"WHERE c.id IS NULL ORDER BY s.row_no"
            ),
            {"job_id": job_id},
        ).all()
        for row in missing:
            errors.add(
                row.row_no, "comparison_id", f"no comparison {row.external_id!r} in this job"
            )
        errors.raise_if_any()
        created = session.execute(
            text(
                f"INSERT INTO annotations (job_id, comparison_id, annotator_id, source, {_COPIED}) "
                f"SELECT :job_id, c.id, s.annotator_id, 'imported', "
                f"{', '.join('s.' + c for c in _COPIED.split(', '))} "
                f"FROM {stage} s JOIN comparisons c "
                f"ON c.job_id = :job_id AND c.external_id = s.external_id "
                f"WHERE true ORDER BY s.row_no "
                f"ON CONFLICT (comparison_id, annotator_id, repeat) DO NOTHING"
            ),
            {"job_id": job_id},
        ).rowcount
    return IngestCounts(received=len(rows), created=created)
