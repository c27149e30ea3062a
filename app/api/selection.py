"""Query parameters that choose which judgments count, shared by the stats and export routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from app.db.models import ANNOTATOR_KINDS
from app.errors import RequestError
from app.stats.data import Selection, comma_separated

# A date and time with its zone (RFC 3339): a bare number or a date without a zone is refused.
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T", 1))
    except ValueError as exc:
        raise RequestError(
            422, "validation_error", "not a date", [{"field": name, "reason": str(exc)}]
        ) from exc
    if moment.tzinfo is None:  # the pattern asks for a zone; kept for direct callers
        raise RequestError(
            422,
            "validation_error",
            "dates need a time zone",
            [{"field": name, "reason": "give a zone, e.g. 2026-01-31T00:00:00Z"}],
        )
    return moment


# A comma-separated list of annotator kinds (blank entries are ignored).
KINDS_PATTERN = r"^\s*((human|simulated)\s*)?(,\s*((human|simulated)\s*)?)*$"


def selection_params(
    annotators: Annotated[
        str | None, Query(max_length=10_000, description="Comma-separated annotator names.")
    ] = None,
    kinds: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=KINDS_PATTERN,
            description="Comma-separated: `human`, `simulated`.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            pattern=DATE_TIME_PATTERN,
            json_schema_extra={"format": "date-time"},
            description="Judgments created at or after (ISO 8601 with a zone).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            pattern=DATE_TIME_PATTERN,
            json_schema_extra={"format": "date-time"},
            description="Judgments created before (ISO 8601 with a zone).",
        ),
    ] = None,
    gold: Annotated[
        Literal["include", "exclude", "only"],
        Query(description="Comparisons with a gold preference: include, exclude or only them."),
    ] = "include",
) -> Selection:
    kind_names = comma_separated(kinds)
    unknown = [k for k in kind_names if k not in ANNOTATOR_KINDS]
    if unknown:
        raise RequestError(
            422,
            "validation_error",
            "unknown annotator kind",
            [
                {"field": "kinds", "reason": f"{k!r} is not one of {', '.join(ANNOTATOR_KINDS)}"}
                for k in unknown
            ],
        )
    since_at, until_at = _moment("since", since), _moment("until", until)
    if since_at is not None and until_at is not None and until_at <= since_at:
        raise RequestError(
            422,
            "validation_error",
            "empty date range",
            [{"field": "until", "reason": "must be later than since"}],
        )
    return Selection(
        annotators=comma_separated(annotators),
        kinds=kind_names,
        since=since_at,
        until=until_at,
        gold=gold,
    )
