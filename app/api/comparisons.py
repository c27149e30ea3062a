"""Bulk-adding comparisons to a job and listing them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.api.bulk import BULK_RESPONSES, bulk_request_body, ingest_request
from app.api.schemas import ComparisonOut, ComparisonPage, IngestResult
from app.db.models import Comparison, Instruction, Output
from app.http.deps import ApiUser, SessionDep, load_job
from app.http.pagination import decode_cursor, encode_cursor
from app.ingest.comparisons import store_comparisons
from app.ingest.rows import ComparisonRow

router = APIRouter(prefix="/api/v1/jobs/{job_id}/comparisons", tags=["comparisons"])

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


@router.post(
    "",
    response_model=IngestResult,
    summary="Add comparisons in bulk (JSON array or NDJSON), all or nothing",
    description="Up to 100,000 rows a request. Rows whose `id` is stored already with the same "
    "content are left as they are; the same `id` with other content is a 409 and stores nothing. "
    "Instructions and outputs are stored once per distinct content.",
    openapi_extra=bulk_request_body(ComparisonRow, _EXAMPLE_ROW),
    responses={409: {"description": "an id is stored with other content"}, **BULK_RESPONSES},
)
async def add_comparisons(
    job_id: int, request: Request, user: ApiUser, session: SessionDep
) -> IngestResult:
    return await ingest_request(request, session, user, job_id, ComparisonRow, store_comparisons)


@router.get("", response_model=ComparisonPage, summary="List a job's comparisons (keyset pages)")
def list_comparisons(
    job_id: int,
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    route: Annotated[str | None, Query(max_length=20)] = None,
) -> ComparisonPage:
    load_job(session, user, job_id)
    out_1, out_2 = aliased(Output), aliased(Output)
    query = (
        select(Comparison, Instruction, out_1, out_2)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(out_1, out_1.id == Comparison.output_1_id)
        .join(out_2, out_2.id == Comparison.output_2_id)
        .where(Comparison.job_id == job_id, Comparison.id > decode_cursor(after))
    )
    if status is not None:
        query = query.where(Comparison.status == status)
    if route is not None:
        query = query.where(Comparison.route == route)
    rows = session.execute(query.order_by(Comparison.id).limit(limit + 1)).all()
    items = [
        ComparisonOut(
            id=c.external_id,
            instruction=i.instruction,
            input=i.input,
            output_1=o1.text,
            output_2=o2.text,
            generator_1=o1.generator,
            generator_2=o2.generator,
            gold_preference=c.gold_preference,
            route=c.route,
            status=c.status,
            metadata=c.extra,
            created_at=c.created_at,
        )
        for c, i, o1, o2 in rows[:limit]
    ]
    last_id = rows[limit - 1][0].id if len(rows) > limit else None
    return ComparisonPage(
        items=items, next_cursor=encode_cursor(last_id) if last_id is not None else None
    )
