"""What the researcher commands share: the client from the environment, error reporting, JSON
and table output, progress bars."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.table import Table

    from prefarm_client.client import PrefarmClient

console = Console()
err_console = Console(stderr=True)


def make_client() -> PrefarmClient:
    """The client of PREFARM_URL with PREFARM_TOKEN; without a token, say what to set."""
    from prefarm_client.client import PrefarmClient

    if not os.environ.get("PREFARM_TOKEN"):
        typer.echo(
            "error: set PREFARM_TOKEN to an API token (an operator makes one with "
            "`prefarm tokens create --email …` on the server)",
            err=True,
        )
        raise typer.Exit(code=2)
    return PrefarmClient()


@contextmanager
def reported_errors() -> Iterator[None]:
    """API and file errors end the command with their message (exit 1), not a traceback."""
    from prefarm_client.client import PrefarmError
    from prefarm_client.files import ComparisonFileError

    try:
        yield
    except PrefarmError as exc:
        typer.echo(f"error: {exc}", err=True)
        details = exc.details
        if isinstance(details, dict):
            details = details.get("errors", details)
        for item in (details if isinstance(details, list) else [])[:20]:
            typer.echo(f"  {json.dumps(item)}", err=True)
        raise typer.Exit(code=1) from exc
    except (ComparisonFileError, TimeoutError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def progress_bar(*, transient: bool = False) -> Bar:
    """A bar with done/total, a note, elapsed time and the estimated time left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )


# Wide tables of a few rows are shown turned, one column per row, to fit a terminal.
_MAX_COLUMNS = 10
_MAX_TURNED_ROWS = 6


def table(title: str, rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    columns = list(dict.fromkeys(key for row in rows for key in row))
    if len(columns) > _MAX_COLUMNS and len(rows) <= _MAX_TURNED_ROWS:
        first, *fields = columns
        shown = Table(first, *(cell(row.get(first)) for row in rows), title=title)
        for field in fields:
            shown.add_row(field, *(cell(row.get(field)) for row in rows))
    else:
        shown = Table(*columns, title=title)
        for row in rows:
            shown.add_row(*(cell(row.get(column)) for column in columns))
    shown.title_justify = "left"
    return shown


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
