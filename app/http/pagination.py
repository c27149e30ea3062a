"""Keyset pagination over HTTP: a cursor that names the last row seen.

A cursor is `v1.<id>`. It is documented as opaque (clients pass back what they were given), and
the `after` parameter's schema says exactly which strings are cursors, so a string that passes
the schema is always one this API could have issued.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from app.db.paging import Page
from app.db.values import INT64_MAX
from app.errors import RequestError

# 18 digits stay below the largest BIGINT (9223372036854775807).
CURSOR_PATTERN = r"^v1\.[0-9]{1,18}$"
AfterCursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        max_length=21,
        description="`next_cursor` of the previous page; leave it out for the first page.",
    ),
]


def encode_cursor(last_id: int) -> str:
    return f"v1.{last_id}"


def page_cursor(page: Page[Any]) -> str | None:
    """The `next_cursor` of a page: null on the last one."""
    return encode_cursor(page.next_after) if page.next_after is not None else None


def decode_cursor(cursor: str | None, maximum: int = INT64_MAX) -> int:
    """The last id a cursor names; `maximum` is the largest id of the listed table's column."""
    if not cursor:
        return 0
    version, _, value = cursor.partition(".")
    if version != "v1" or not value.isdigit() or len(value) > 18 or int(value) > maximum:
        raise RequestError(400, "bad_cursor", "the `after` cursor is not one this API issued")
    return int(value)
