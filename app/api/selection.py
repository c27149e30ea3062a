"""Query parameters that choose which judgments count, shared by the stats and export routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from app.db.models import ANNOTATOR_KINDS
from app.errors import RequestError
from app.stats.data import Selection, comma_separated

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
        datetime | None, Query(description="Judgments created at or after (ISO 8601).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Judgments created before.")] = None,
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
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise RequestError(
                422,
                "validation_error",
                "dates need a time zone",
                [{"field": name, "reason": "give a zone, e.g. 2026-01-31T00:00:00Z"}],
            )
    if since is not None and until is not None and until <= since:
        raise RequestError(
            422,
            "validation_error",
            "empty date range",
            [{"field": "until", "reason": "must be later than since"}],
        )
    return Selection(
        annotators=comma_separated(annotators),
        kinds=kind_names,
        since=since,
        until=until,
        gold=gold,
    )
