"""`/docs`: the interactive API documentation, served with no request to another site.

Swagger UI's files come from the installed `fastapi-offline` package; the page and its start-up
script are prefarm's, so the Content-Security-Policy allows scripts and styles from this origin
only (no inline script)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/docs/assets"
# Swagger UI sets element styles from script (allowed) and draws icons as data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>prefarm API</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


def swagger_assets() -> Path:
    """The folder of Swagger UI's files in the installed package."""
    return Path(str(resources.files("fastapi_offline") / "static"))


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(assets=ASSETS_URL),
        headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"},
    )
