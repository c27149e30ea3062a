"""Importing judgments made elsewhere, and listing a job's judgments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from app.api.bulk import BULK_RESPONSES, bulk_request_body, ingest_request
from app.api.responses import JOB_RESPONSES, responses
from app.api.schemas import AnnotationOut, AnnotationPage, IngestResult
from app.db.models import Job
from app.http.deps import ApiUser, SessionDep
from app.http.pagination import AfterCursor, decode_cursor, page_cursor
from app.http.params import JobId
from app.ingest.annotations import store_annotations
from app.ingest.comparisons import IngestCounts
from app.ingest.rows import AnnotationRow
from app.jobs.access import load_visible_job
from app.jobs.listing import annotation_page

router = APIRouter(
    prefix="/api/v1/jobs/{job_id}/annotations", tags=["annotations"], responses=JOB_RESPONSES
)

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
    job_id: JobId, request: Request, user: ApiUser, session: SessionDep
) -> IngestResult:
    return await ingest_request(request, session, user, job_id, AnnotationRow, _store)


@router.get(
    "",
    response_model=AnnotationPage,
    summary="List a job's judgments (keyset pages)",
    responses=responses(400),
)
def list_annotations(
    job_id: JobId,
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: AfterCursor = None,
    annotator: Annotated[str | None, Query(max_length=200)] = None,
) -> AnnotationPage:
    load_visible_job(session, user, job_id)
    page = annotation_page(
        session, job_id, after=decode_cursor(after), limit=limit, annotator=annotator
    )
    items = [
        AnnotationOut(
            id=row.annotation.id,
            comparison_id=row.comparison_external_id,
            annotator=row.annotator,
            annotator_kind=row.annotator_kind,
            repeat=row.annotation.repeat,
            preference=row.annotation.preference,
            label=row.annotation.label,
            shown_swapped=row.annotation.shown_swapped,
            rationale=row.annotation.rationale,
            parse_error=row.annotation.parse_error,
            cost_usd=row.annotation.cost_usd,
            prompt_tokens=row.annotation.prompt_tokens,
            completion_tokens=row.annotation.completion_tokens,
            latency_ms=row.annotation.latency_ms,
            seconds_on_task=row.annotation.seconds_on_task,
            is_noisy_label=row.annotation.is_noisy_label,
            source=row.annotation.source,
            metadata=row.annotation.extra,
            created_at=row.annotation.created_at,
            strength=row.annotation.strength,
            guideline_version=row.annotation.guideline_version,
            version=row.annotation.version,
        )
        for row in page.items
    ]
    return AnnotationPage(items=items, next_cursor=page_cursor(page))
