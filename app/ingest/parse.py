"""Streamed parsing of JSON-array and NDJSON bodies into validated rows, with per-row errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from app.errors import RequestError

Row = TypeVar("Row", bound=BaseModel)

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/ndjson")
MAX_REPORTED_ERRORS = 100


class RowErrors:
    """Collects per-row problems; the batch fails as a whole if there is any."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.total = 0

    def add(self, row: int, field: str, reason: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append({"row": row, "field": field, "reason": reason})

    def add_validation(self, row: int, exc: ValidationError) -> None:
        for error in exc.errors(include_url=False):
            field = ".".join(str(p) for p in error["loc"]) or "(row)"
            if error["type"] == "json_invalid":
                self.add(row, "(row)", f"not valid JSON: {error['ctx'].get('error', '')}")
            elif error["type"] == "model_type":
                self.add(row, "(row)", "each row must be a JSON object")
            else:
                self.add(row, field, error["msg"])

    def raise_if_any(self, message: str = "the batch was rejected; nothing was stored") -> None:
        if self.total:
            raise RequestError(
                422,
                "invalid_rows",
                message,
                {"errors": self.items, "error_count": self.total, "reported": len(self.items)},
            )


def _too_many(max_rows: int) -> RequestError:
    return RequestError(
        413, "too_many_rows", f"a batch holds at most {max_rows} rows; split it", {"max": max_rows}
    )


def _validate(
    model: type[Row], row_no: int, item: Any, errors: RowErrors, context: dict[str, Any] | None
) -> Row | None:
    if not isinstance(item, dict):
        errors.add(row_no, "(row)", "each row must be a JSON object")
        return None
    try:
        return model.model_validate(item, context=context)
    except ValidationError as exc:
        errors.add_validation(row_no, exc)
        return None


async def parse_rows(
    chunks: AsyncIterator[bytes],
    content_type: str,
    model: type[Row],
    max_rows: int,
    context: dict[str, Any] | None = None,
) -> list[Row]:
    """Rows numbered from 1 (NDJSON: line numbers, blank lines skipped but counted).
    `context` is handed to the row model's validators (e.g. the settings with its limits)."""
    media_type = content_type.split(";")[0].strip().lower()
    errors = RowErrors()
    rows: list[Row] = []
    if media_type in NDJSON_TYPES:
        line_no = row_count = 0
        async for line in _lines(chunks):
            line_no += 1
            if not line.strip():
                continue
            row_count += 1
            if row_count > max_rows:
                raise _too_many(max_rows)
            try:
                rows.append(model.model_validate_json(line, context=context))
            except ValidationError as exc:
                errors.add_validation(line_no, exc)
    elif media_type in ("application/json", ""):
        body = b"".join([chunk async for chunk in chunks])
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
        if not isinstance(items, list):
            raise RequestError(
                422, "invalid_body", "the body must be a JSON array of rows (or NDJSON)"
            )
        if len(items) > max_rows:
            raise _too_many(max_rows)
        for index, item in enumerate(items, start=1):
            row = _validate(model, index, item, errors, context)
            if row is not None:
                rows.append(row)
    else:
        raise RequestError(
            415,
            "unsupported_media_type",
            "send application/json (an array) or application/x-ndjson (one row a line)",
        )
    errors.raise_if_any()
    if not rows:
        raise RequestError(422, "empty_batch", "the batch holds no rows")
    return rows


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line
    if pending:
        yield pending
