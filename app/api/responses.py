"""The documented error answers of the API routes, so `/openapi.json` lists every status a
route can return (each with the one error body of app/http/errors.py and an example)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable word, e.g. `not_found`.")
    message: str = Field(description="For people.")
    details: Any = Field(None, description="null, an object or a list, depending on the code.")


class ErrorBody(BaseModel):
    error: ErrorDetail


_WHEN: dict[int, tuple[str, str, str]] = {
    400: (
        "bad request: a malformed `after` cursor or JSON body",
        "bad_cursor",
        "the `after` cursor is not one this API issued",
    ),
    401: (
        "no API token, or an unknown, revoked or expired one",
        "unauthorized",
        "send an API token as `Authorization: Bearer <token>`",
    ),
    403: ("the account's role may not do this", "forbidden", "raters have no API access"),
    404: ("no such job or object, or not yours", "not_found", "job 12 not found"),
    409: ("conflicts with what is stored", "conflict", "see the route's description"),
    413: ("too many rows or too large a body", "too_many_rows", "at most 100000 rows a request"),
    415: (
        "neither JSON nor NDJSON",
        "unsupported_media_type",
        "send application/json or application/x-ndjson",
    ),
    422: (
        "the request does not match the schema, or per-row errors",
        "validation_error",
        "the request does not match the schema",
    ),
}


def responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses; `descriptions` (keyed `s409`) override."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        when, code, message = _WHEN[status]
        documented[status] = {
            "model": ErrorBody,
            "description": descriptions.get(f"s{status}", when),
            "content": {
                "application/json": {
                    "example": {"error": {"code": code, "message": message, "details": None}}
                }
            },
        }
    return documented


# Every /api/v1 route: a token is needed, raters are refused, parameters are validated.
COMMON_RESPONSES = responses(401, 403, 422)
# Routes under /api/v1/jobs/{job_id}: the job may not exist (or not be yours).
JOB_RESPONSES = {**COMMON_RESPONSES, **responses(404)}
