"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db.migrate import current_revision, head_revision
from app.db.session import read_connection
from app.http.deps import EngineDep
from app.http.errors import RETRY_AFTER_SECONDS

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="The process is up",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and its schema is at the newest migration",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"status": "ok", "database": "ok", "schema": "0006"}
                }
            }
        },
        503: {
            "description": "not ready; the body says why",
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "database": "ok",
                        "schema": "0004",
                        "head": "0006",
                        "fix": "prefarm db upgrade",
                    }
                }
            },
        },
    },
)
def readyz(engine: EngineDep) -> JSONResponse:
    try:
        with read_connection(engine) as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    head = head_revision()
    if revision != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "ok",
                "schema": revision,
                "head": head,
                "fix": "prefarm db upgrade",
            },
            503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "schema": revision})
