"""Keyset pagination over HTTP: an opaque cursor that names the last row seen."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from app.db.paging import Page
from app.db.values import INT64_MAX
from app.errors import RequestError


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def page_cursor(page: Page[Any]) -> str | None:
    """The `next_cursor` of a page: null on the last one."""
    return encode_cursor(page.next_after) if page.next_after is not None else None


def decode_cursor(cursor: str | None, maximum: int = INT64_MAX) -> int:
    """The last id a cursor names; `maximum` is the largest id of the listed table's column."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1":
            raise ValueError(version)
        last_id = int(value)
        if not 0 <= last_id <= maximum:
            raise ValueError(value)
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise RequestError(
            400, "bad_cursor", "the `after` cursor is not one this API issued"
        ) from exc
