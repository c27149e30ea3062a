"""What the two bulk endpoints share: their OpenAPI request body, reading the rows, and storing
them off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.api.responses import responses
from app.api.schemas import IngestResult, ValidationResult
from app.db.models import Job
from app.http.deps import request_settings
from app.ingest.comparisons import IngestCounts
from app.ingest.parse import parse_rows
from app.ingest.rows import SETTINGS_CONTEXT
from app.jobs.access import load_visible_job

Row = TypeVar("Row", bound=BaseModel)

BULK_RESPONSES = responses(
    400,
    413,
    415,
    422,
    s400="a JSON body that does not parse",
    s422="per-row errors (`invalid_rows`: row number, field, reason), or an empty batch",
)


def bulk_request_body(row_model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` describing a JSON array or NDJSON of `row_model` rows."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "items": row_model.model_json_schema(),
                    },
                    "example": [example],
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one JSON row a line"},
                    "example": orjson.dumps(example).decode() + "\n",
                },
            },
        }
    }


async def _read_rows(request: Request, row_model: type[Row]) -> list[Row]:
    settings = request_settings(request)
    return await parse_rows(
        request.stream(),
        request.headers.get("content-type", ""),
        row_model,
        settings.max_batch_rows,
        context={SETTINGS_CONTEXT: settings},
    )


async def ingest_request(
    request: Request,
    session: Session,
    user: Account,
    job_id: int,
    row_model: type[Row],
    store: Callable[[Session, Job, list[Row]], IngestCounts],
) -> IngestResult:
    """Read and validate every row, then (off the event loop) check access and store them all
    or none. The body is read before the database is touched, so a slow upload holds no
    transaction open."""
    rows = await _read_rows(request, row_model)

    def store_visible() -> IngestCounts:
        return store(session, load_visible_job(session, user, job_id), rows)

    counts = await run_in_threadpool(store_visible)
    return IngestResult(
        received=counts.received, created=counts.created, unchanged=counts.unchanged
    )


async def validate_request(
    request: Request, row_model: type[Row], check: Callable[[list[Row]], int]
) -> ValidationResult:
    """Read and validate every row like `ingest_request`, then apply `check`; store nothing."""
    rows = await _read_rows(request, row_model)
    return ValidationResult(received=check(rows))
