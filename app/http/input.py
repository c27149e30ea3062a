"""Input the database cannot store never reaches it: a request whose path, query string, header
values or form fields hold a NUL character is refused with a 422 before its handler runs (JSON
bodies are checked by their schemas, with `app.db.values.StoredText` and `StoredJson`)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi import Request

from app.db.values import NUL_REASON
from app.errors import RequestError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse(field: str) -> RequestError:
    return RequestError(
        422,
        "validation_error",
        "the request holds a NUL character",
        [{"field": field, "reason": NUL_REASON}],
    )


async def refuse_nul_characters(request: Request) -> None:
    """An app-wide dependency (app.server)."""
    if "\x00" in request.url.path:
        raise _refuse("path")
    if b"\x00" in unquote_to_bytes(request.scope.get("query_string", b"")):
        raise _refuse("query")
    for name, value in request.headers.items():
        if "\x00" in value:
            raise _refuse(f"header {name}")
    if request.headers.get("content-type", "").split(";")[0].strip() in FORM_TYPES:
        form = await request.form()
        for name, field in form.multi_items():
            if isinstance(field, str) and "\x00" in field:
                raise _refuse(name)
