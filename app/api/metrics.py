"""`GET /metrics`: Prometheus metrics; open, or behind a bearer token, or for admins only."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from app.accounts.service import user_for_token
from app.db.session import unit_of_work
from app.errors import RequestError
from app.http.deps import request_engine, request_settings
from app.observability import metrics

router = APIRouter(tags=["health"])


def _check_access(request: Request) -> None:
    """PREFARM_METRICS_TOKEN lets its bearer in; PREFARM_METRICS_ADMIN_ONLY lets in an admin's
    API token too. With neither set, /metrics is open (as Prometheus scrapers expect)."""
    settings = request_settings(request)
    if not settings.metrics_token and not settings.metrics_admin_only:
        return
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if settings.metrics_token and hmac.compare_digest(
        given.encode(), f"Bearer {settings.metrics_token}".encode()
    ):
        return
    if settings.metrics_admin_only and scheme.lower() == "bearer" and token:
        with unit_of_work(request_engine(request)) as session:
            user = user_for_token(session, token)
            role = user.role if user is not None else None
        if role == "admin":
            return
        if role is not None:
            raise RequestError(403, "forbidden", "the metrics are for admins")
    wanted = "an admin's API token" if settings.metrics_admin_only else "PREFARM_METRICS_TOKEN"
    if settings.metrics_admin_only and settings.metrics_token:
        wanted += " or PREFARM_METRICS_TOKEN"
    raise RequestError(401, "unauthorized", f"send {wanted} as a Bearer token")


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": "# HELP prefarm_tasks Simulated-annotation tasks by status.\n"
                    '# TYPE prefarm_tasks gauge\nprefarm_tasks{status="queued"} 300.0\n'
                }
            }
        },
        401: {"description": "PREFARM_METRICS_TOKEN or PREFARM_METRICS_ADMIN_ONLY is set"},
        403: {"description": "PREFARM_METRICS_ADMIN_ONLY: the token is not an admin's"},
    },
)
def prometheus_metrics(request: Request) -> Response:
    _check_access(request)
    body = metrics.render(request.app.state.metrics_registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
