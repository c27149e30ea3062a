"""Bulk-adding comparisons to a job, checking them without a job, and listing them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from app.api.bulk import BULK_RESPONSES, bulk_request_body, ingest_request, validate_request
from app.api.responses import COMMON_RESPONSES, JOB_RESPONSES, responses
from app.api.schemas import (
    ComparisonOut,
    ComparisonPage,
    IngestResult,
    TaskErrorOut,
    ValidationResult,
)
from app.http.deps import ApiUser, SessionDep
from app.http.pagination import AfterCursor, decode_cursor, page_cursor
from app.http.params import JobId
from app.ingest.comparisons import check_comparisons, store_comparisons
from app.ingest.rows import ComparisonRow
from app.jobs.access import load_visible_job
from app.jobs.listing import comparison_page

router = APIRouter(
    prefix="/api/v1/jobs/{job_id}/comparisons", tags=["comparisons"], responses=JOB_RESPONSES
)
check_router = APIRouter(
    prefix="/api/v1/comparisons", tags=["comparisons"], responses=COMMON_RESPONSES
)

_EXAMPLE_ROW = {
    "id": "q17-alpaca-vs-gpt4",
    "instruction": "Name three prime numbers.",
    "input": "",
    "output_1": "2, 3 and 5.",
    "output_2": "Prime numbers include 2, 3, 5 and 7.",
    "generator_1": "alpaca-7b",
    "generator_2": "gpt4_1106_preview",
    "gold_preference": None,
    "metadata": {"dataset": "demo"},
}
Escalation = Literal["disagreement", "uncertain", "low_agreement", "any"]


@router.post(
    "",
    response_model=IngestResult,
    summary="Add comparisons in bulk (JSON array or NDJSON), all or nothing",
    description="Up to 100,000 rows a request. Rows whose `id` is stored already with the same "
    "content are left as they are; the same `id` with other content is a 409 and stores nothing. "
    "Instructions and outputs are stored once per distinct content.",
    openapi_extra=bulk_request_body(ComparisonRow, _EXAMPLE_ROW),
    responses={
        **BULK_RESPONSES,
        **responses(409, s409="an id is stored with other content, or the job is cancelled"),
    },
)
async def add_comparisons(
    job_id: JobId, request: Request, user: ApiUser, session: SessionDep
) -> IngestResult:
    return await ingest_request(request, session, user, job_id, ComparisonRow, store_comparisons)


@check_router.post(
    "/validate",
    response_model=ValidationResult,
    summary="Check comparisons without storing them (no job needed)",
    description="The same body and rules as adding comparisons to a job, and the same "
    "`invalid_rows` errors; nothing is stored. `prefarm jobs submit` checks a whole file this "
    "way before it creates a job, so a file with a bad row leaves nothing behind.",
    openapi_extra=bulk_request_body(ComparisonRow, _EXAMPLE_ROW),
    responses=BULK_RESPONSES,
)
async def validate_comparisons(request: Request, user: ApiUser) -> ValidationResult:
    return await validate_request(request, ComparisonRow, check_comparisons)


@router.get(
    "",
    response_model=ComparisonPage,
    summary="List a job's comparisons, with escalation reasons and task errors (keyset pages)",
    responses=responses(400),
)
def list_comparisons(
    job_id: JobId,
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: AfterCursor = None,
    status: Annotated[Literal["pending", "done", "failed"] | None, Query()] = None,
    route: Annotated[Literal["human", "simulated", "both"] | None, Query()] = None,
    escalation: Annotated[
        Escalation | None,
        Query(description="Only comparisons escalated for this reason (`any`: for any reason)."),
    ] = None,
    has_error: Annotated[
        bool | None,
        Query(description="true: only those with a task error; false: only those without."),
    ] = None,
) -> ComparisonPage:
    load_visible_job(session, user, job_id)
    page = comparison_page(
        session,
        job_id,
        after=decode_cursor(after),
        limit=limit,
        status=status,
        route=route,
        escalation=escalation,
        has_error=has_error,
    )
    items = [
        ComparisonOut(
            id=row.comparison.external_id,
            instruction=row.instruction.instruction,
            input=row.instruction.input,
            messages=row.instruction.messages,
            output_1=row.output_1.text,
            output_2=row.output_2.text,
            output_1_messages=row.output_1.messages,
            output_2_messages=row.output_2.messages,
            generator_1=row.output_1.generator,
            generator_2=row.output_2.generator,
            gold_preference=row.comparison.gold_preference,
            route=row.comparison.route,
            status=row.comparison.status,
            escalation=row.comparison.escalation,
            errors=[TaskErrorOut(**error.__dict__) for error in row.errors],
            metadata=row.comparison.extra,
            created_at=row.comparison.created_at,
        )
        for row in page.items
    ]
    return ComparisonPage(items=items, next_cursor=page_cursor(page))
