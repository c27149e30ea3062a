"""Jinja2 pages with the headers every page gets (a strict Content-Security-Policy above all)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.http.markdown import render_markdown
from app.resources import resource_dir

templates = Jinja2Templates(directory=str(resource_dir("templates")))


def _markdown_filter(text: str) -> Markup:
    return Markup(render_markdown(text))  # sanitised by render_markdown, so safe to mark


templates.env.filters["markdown"] = _markdown_filter

# Scripts and styles only from prefarm itself; even a sanitiser bug cannot run inline script.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, headers=PAGE_HEADERS
    )
    return response
