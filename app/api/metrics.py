"""`GET /metrics`: Prometheus metrics, optionally behind a bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from app.errors import RequestError
from app.http.deps import request_settings
from app.observability import metrics

router = APIRouter(tags=["health"])


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
        }
    },
)
def prometheus_metrics(request: Request) -> Response:
    expected = request_settings(request).metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise RequestError(401, "unauthorized", "send PREFARM_METRICS_TOKEN as a Bearer token")
    body = metrics.render(request.app.state.metrics_registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
