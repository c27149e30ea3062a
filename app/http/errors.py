"""One error shape for every failure, rendered for whoever asked: the JSON body
`{"error": {"code", "message", "details"}}` for the API and machine endpoints, an HTML page with
the same status for browsers (and a redirect to the login form when a page needs a login)."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db.dialect import is_unavailable
from app.errors import RequestError
from app.http.deps import LoginRequired
from app.http.pages import render

log = logging.getLogger("prefarm.api")

# Paths answered in JSON whatever the client accepts: the API and what machines scrape.
MACHINE_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json")
_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
# While the database is away (e.g. restarting), clients are asked to come back after this long.
RETRY_AFTER_SECONDS = 5


# What FastAPI says when a JSON body does not parse.
_BODY_PARSE_ERROR = "There was an error parsing the body"


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method the API documents at this path (Starlette's header names only the first
    route's); `fallback` for paths outside the schema."""
    path = request.url.path
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(method.upper() for method in operations))
    return fallback


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(MACHINE_PATHS):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)
    response = render(request, "error.html", {"status": status, "message": message}, status)
    response.headers.update(headers or {})
    return response


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path", "header"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> Response:
        return error_response(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if wants_json(request):
            return error_response(request, 401, "unauthorized", "log in first")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        unparsable = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if unparsable:
            reason = unparsable[0].get("ctx", {}).get("error", "")
            return error_response(
                request, 400, "invalid_json", f"the body is not valid JSON: {reason}".strip()
            )
        if not wants_json(request) and all(e["loc"][0] == "path" for e in exc.errors()):
            # /rate/abc is an address that leads nowhere, not a form to correct.
            return error_response(request, 404, "not_found", "There is no page at this address.")
        details = [
            {"field": _field_path(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()
        ]
        return error_response(
            request, 422, "validation_error", "the request does not match the schema", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request, headers.get("Allow", ""))
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
            code = "invalid_json"
        return error_response(request, exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> Response:
        if not is_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            str(exc).splitlines()[0][:300],
        )
        return error_response(
            request,
            503,
            "database_unavailable",
            "the database is not reachable right now; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            request, 500, "internal_error", "an unexpected error occurred; it has been logged"
        )
