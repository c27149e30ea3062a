"""What the database can hold, as types every schema uses: text without NUL characters (which
PostgreSQL refuses in text and SQLite would keep, so both refuse it here), JSON objects of
bounded depth, and ids within the range of their columns."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

# The id columns: INTEGER (jobs, users, annotators) and BIGINT (comparisons, judgments, tasks,
# assignments) on PostgreSQL; SQLite's are 64-bit.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Deep enough for any real metadata; far below what the JSON encoders can write (orjson: 254).
MAX_JSON_DEPTH = 32
NUL_REASON = "NUL characters (\\u0000) cannot be stored"


def storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REASON)
    return value


def storable_json(value: Any) -> Any:
    """A JSON value whose strings (and keys) hold no NUL and that nests at most MAX_JSON_DEPTH
    deep; checked without recursion, so any depth is refused cleanly."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            storable_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                storable_text(str(key))
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)
    return value


StoredText = Annotated[str, AfterValidator(storable_text)]
StoredJson = Annotated[dict[str, Any], AfterValidator(storable_json)]
