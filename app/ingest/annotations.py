"""Importing judgments made elsewhere (e.g. AlpacaEval annotations) into a job."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.annotators.config import builtin_configs
from app.db.bulk import append_rows, existing_rows, matching_rows, retry_on_unique_violation
from app.db.models import Annotation, Annotator, Comparison, table
from app.ingest.comparisons import IngestCounts
from app.ingest.parse import RowErrors
from app.ingest.rows import AnnotationRow

COPIED_FIELDS = (
    "repeat", "preference", "label", "shown_swapped", "rationale", "raw_completion", "cost_usd",
    "prompt_tokens", "completion_tokens", "latency_ms", "seconds_on_task", "is_noisy_label",
)  # fmt: skip
# `human:<email>` annotators are rater accounts (app.rating.assignment.human_annotator_id).
RATER_PREFIX = "human:"
RATER_NAME_REFUSED = (
    "{name!r}: human: names belong to rater accounts; name imported judgments differently "
    "(annotator_kind human keeps them counted as human)"
)
CONFIG_NAME_REFUSED = (
    "{name!r} is a simulated annotator config of this server; imported judgments need a name "
    "of their own"
)
COLUMNS = ["job_id", "comparison_id", "annotator_id", "source", *COPIED_FIELDS, "metadata"]


def store_annotations(session: Session, job_id: int, rows: list[AnnotationRow]) -> IngestCounts:
    """Store all rows or none. A judgment whose (comparison, annotator, repeat) is
    stored already is left as it was: re-posting is a no-op."""
    _reject_repeated_judgments(rows)
    created = retry_on_unique_violation(session, lambda: _append_new(session, job_id, rows))
    return IngestCounts(received=len(rows), created=created)


def _append_new(session: Session, job_id: int, rows: list[AnnotationRow]) -> int:
    errors = RowErrors()
    comparison_ids = {
        external_id: found[0]
        for external_id, found in existing_rows(
            session,
            Comparison.external_id,
            (row.comparison_id for row in rows),
            returning=[Comparison.id],
            where=Comparison.job_id == job_id,
        ).items()
    }
    for row_no, row in enumerate(rows, start=1):
        if row.comparison_id not in comparison_ids:
            errors.add(row_no, "comparison_id", f"no comparison {row.comparison_id!r} in this job")
    errors.raise_if_any()
    annotator_ids = _annotator_ids(session, rows)
    stored = {
        tuple(found)
        for found in matching_rows(
            session,
            Annotation.comparison_id,
            comparison_ids.values(),
            [Annotation.comparison_id, Annotation.annotator_id, Annotation.repeat],
        )
    }
    new: list[tuple[Any, ...]] = []
    for row in rows:
        comparison_id, annotator_id = (
            comparison_ids[row.comparison_id],
            annotator_ids[row.annotator],
        )
        if (comparison_id, annotator_id, row.repeat) in stored:
            continue
        new.append(
            (
                job_id,
                comparison_id,
                annotator_id,
                "imported",
                *(getattr(row, field) for field in COPIED_FIELDS),
                orjson.dumps(row.metadata).decode() if row.metadata else None,
            )
        )
    append_rows(session, table(Annotation), COLUMNS, new)
    return len(new)


def _annotator_ids(session: Session, rows: list[AnnotationRow]) -> dict[str, int]:
    """The imported annotators of these rows by name; unknown names are registered with the
    kind the rows give.

    Imported judgments have annotators of their own: a name that belongs to a rater account
    (`human:<email>`, reserved for them) or to a simulated annotator config is refused, so a
    researcher can never file judgments as a rater or as a prefarm annotator.
    """
    errors = RowErrors()
    kinds: dict[str, str] = {}
    for row_no, row in enumerate(rows, start=1):
        if kinds.setdefault(row.annotator, row.annotator_kind) != row.annotator_kind:
            errors.add(row_no, "annotator_kind", f"{row.annotator} is given two kinds")
    existing = {
        a.name: a for a in session.scalars(select(Annotator).where(Annotator.name.in_(kinds)))
    }
    configs = builtin_configs()
    for row_no, row in enumerate(rows, start=1):
        known = existing.get(row.annotator)
        if row.annotator.startswith(RATER_PREFIX) or (known and known.user_id is not None):
            errors.add(row_no, "annotator", RATER_NAME_REFUSED.format(name=row.annotator))
        elif row.annotator in configs or (known and known.config is not None):
            errors.add(row_no, "annotator", CONFIG_NAME_REFUSED.format(name=row.annotator))
        elif known is not None and known.kind != row.annotator_kind:
            errors.add(row_no, "annotator_kind", f"{row.annotator} is a {known.kind} annotator")
    errors.raise_if_any("the batch names annotators it may not use; nothing was stored")
    for name, kind in kinds.items():
        if name not in existing:
            existing[name] = Annotator(name=name, kind=kind)
            session.add(existing[name])
    session.flush()
    return {name: annotator.id for name, annotator in existing.items()}


def _reject_repeated_judgments(rows: list[AnnotationRow]) -> None:
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
