"""Importing judgments made elsewhere, and listing a job's judgments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.bulk import BULK_RESPONSES, bulk_request_body, ingest_request
from app.api.schemas import AnnotationOut, AnnotationPage, IngestResult
from app.db.models import Annotation, Annotator, Comparison, Job
from app.http.deps import ApiUser, SessionDep, load_job
from app.http.pagination import decode_cursor, encode_cursor
from app.ingest.annotations import store_annotations
from app.ingest.comparisons import IngestCounts
from app.ingest.rows import AnnotationRow

router = APIRouter(prefix="/api/v1/jobs/{job_id}/annotations", tags=["annotations"])

_EXAMPLE = {
    "comparison_id": "q17-alpaca-vs-gpt4",
    "annotator": "weighted_alpaca_eval_gpt4_turbo",
    "annotator_kind": "simulated",
    "preference": 1.83,
    "cost_usd": 0.0081,
    "latency_ms": 440.6,
}


def _store(session: Session, job: Job, rows: list[AnnotationRow]) -> IngestCounts:
    return store_annotations(session, job.id, rows)


@router.post(
    "",
    response_model=IngestResult,
    summary="Import judgments made elsewhere, all or nothing",
    description="Each row names a comparison of this job by its `id`. Preferences are floats in "
    "[1, 2] (soft values are kept exactly) or a label. A judgment stored already for the same "
    "comparison, annotator and `repeat` is left as it was.",
    openapi_extra=bulk_request_body(AnnotationRow, _EXAMPLE),
    responses=BULK_RESPONSES,
)
async def import_annotations(
    job_id: int, request: Request, user: ApiUser, session: SessionDep
) -> IngestResult:
    return await ingest_request(request, session, user, job_id, AnnotationRow, _store)


@router.get("", response_model=AnnotationPage, summary="List a job's judgments (keyset pages)")
def list_annotations(
    job_id: int,
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    annotator: Annotated[str | None, Query(max_length=200)] = None,
) -> AnnotationPage:
    load_job(session, user, job_id)
    query = (
        select(Annotation, Annotator.name, Annotator.kind, Comparison.external_id)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .join(Comparison, Comparison.id == Annotation.comparison_id)
        .where(Annotation.job_id == job_id, Annotation.id > decode_cursor(after))
    )
    if annotator is not None:
        query = query.where(Annotator.name == annotator)
    rows = session.execute(query.order_by(Annotation.id).limit(limit + 1)).all()
    items = [
        AnnotationOut(
            id=a.id,
            comparison_id=external_id,
            annotator=name,
            annotator_kind=kind,
            repeat=a.repeat,
            preference=a.preference,
            label=a.label,
            shown_swapped=a.shown_swapped,
            rationale=a.rationale,
            parse_error=a.parse_error,
            cost_usd=a.cost_usd,
            prompt_tokens=a.prompt_tokens,
            completion_tokens=a.completion_tokens,
            latency_ms=a.latency_ms,
            seconds_on_task=a.seconds_on_task,
            is_noisy_label=a.is_noisy_label,
            source=a.source,
            metadata=a.extra,
            created_at=a.created_at,
        )
        for a, name, kind, external_id in rows[:limit]
    ]
    return AnnotationPage(
        items=items,
        next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None,
    )
