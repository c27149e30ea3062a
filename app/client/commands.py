"""`prefarm jobs …`: drive jobs on a prefarm server over its API (PREFARM_URL, PREFARM_TOKEN)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.client.client import DEFAULT_BATCH_SIZE, PrefarmClient, PrefarmError
from app.client.client import Progress as JobProgress
from app.client.files import ComparisonFileError, read_comparisons

jobs_cli = typer.Typer(
    help="Jobs on a prefarm server, over its API. Set PREFARM_URL (default "
    "http://127.0.0.1:8000) and PREFARM_TOKEN (`prefarm tokens create`).",
    no_args_is_help=True,
)
console = Console()
JobId = Annotated[int, typer.Argument(help="The job's id")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
AnnotatorNames = Annotated[
    list[str] | None,
    typer.Option("--annotator", "-a", help="A simulated annotator or pool (repeatable)"),
]
Routing = Annotated[str, typer.Option(help="simulated, human, mixed or active")]


def _client() -> PrefarmClient:
    if not os.environ.get("PREFARM_TOKEN"):
        typer.echo(
            "error: set PREFARM_TOKEN to an API token (`prefarm tokens create --email …`)", err=True
        )
        raise typer.Exit(code=2)
    return PrefarmClient()


@contextmanager
def _reported_errors() -> Iterator[None]:
    """API and file errors end the command with their message, not a traceback."""
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
    except (ComparisonFileError, TimeoutError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@jobs_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the job is")],
    annotator: AnnotatorNames = None,
    routing: Routing = "simulated",
    human_overlap: Annotated[int, typer.Option(help="Raters per human comparison")] = 1,
    budget_usd: Annotated[float | None, typer.Option(help="Stop spending at this")] = None,
    seed: Annotated[int, typer.Option(help="Seeds every random choice of the job")] = 0,
    reference_generator: Annotated[str | None, typer.Option(help="Win rates against it")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Running again with the same key creates nothing new")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create a job."""
    with _reported_errors(), _client() as client:
        job = client.create_job(
            name,
            annotators=annotator or [],
            routing=routing,
            human_overlap=human_overlap,
            budget_usd=budget_usd,
            seed=seed,
            reference_generator=reference_generator,
            idempotency_key=idempotency_key,
        )
    if as_json:
        _print_json(job)
    else:
        typer.echo(f"job {job['id']}: {job['name']} ({job['status']})")


@jobs_cli.command("list")
def list_jobs(as_json: AsJson = False) -> None:
    """List your jobs (all jobs for admins)."""
    with _reported_errors(), _client() as client:
        jobs = client.list_jobs()
    if as_json:
        _print_json(jobs)
        return
    table = Table("id", "name", "status", "annotators", "owner", "created")
    for job in jobs:
        table.add_row(
            str(job["id"]),
            job["name"],
            job["status"],
            ", ".join(job["annotators"]) or job["routing"].get("policy", ""),
            job["owner"],
            job["created_at"][:19].replace("T", " "),
        )
    console.print(table)


@jobs_cli.command("show")
def show(job: JobId) -> None:
    """A job with its progress counts, as JSON."""
    with _reported_errors(), _client() as client:
        _print_json(client.get_job(job))


def _change_status(job: int, status: str) -> None:
    with _reported_errors(), _client() as client:
        updated = client.update_job(job, status=status)
    typer.echo(f"job {updated['id']}: {updated['status']}")


@jobs_cli.command("pause")
def pause(job: JobId) -> None:
    """Stop handing out the job's work."""
    _change_status(job, "paused")


@jobs_cli.command("resume")
def resume(job: JobId) -> None:
    """Hand out the job's work again."""
    _change_status(job, "active")


@jobs_cli.command("cancel")
def cancel(job: JobId) -> None:
    """Stop the job for good."""
    _change_status(job, "cancelled")


def _new_job_key(path: Path, body: dict[str, Any]) -> str:
    """The same file submitted with the same options reuses its job instead of making another."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"cli-submit-{digest.hexdigest()[:40]}"


@jobs_cli.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help=".jsonl, .csv or .json (optionally .gz)")],
    job: Annotated[int | None, typer.Option(help="Add to this job; default: a new job")] = None,
    name: Annotated[str | None, typer.Option(help="New job's name; default: file name")] = None,
    annotator: AnnotatorNames = None,
    routing: Routing = "simulated",
    human_overlap: Annotated[int, typer.Option(help="Raters per human comparison")] = 1,
    reference: Annotated[
        Path | None,
        typer.Option(help="AlpacaEval reference outputs; FILE is then the model's outputs"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Comparisons per request")] = DEFAULT_BATCH_SIZE,
    wait: Annotated[bool, typer.Option(help="Show a progress bar until all are judged")] = False,
    timeout: Annotated[float | None, typer.Option(help="Give up waiting after seconds")] = None,
    poll_seconds: Annotated[float, typer.Option(help="How often --wait asks")] = 1.0,
) -> None:
    """Add a file of comparisons to a job (a new one unless --job), optionally wait for them.

    Comparisons are keyed by their `id`, so running the same command again adds nothing twice.
    """
    with _reported_errors():
        comparisons = read_comparisons(file, reference)
        if comparisons.unmatched:
            typer.echo(
                f"note: {comparisons.unmatched} instructions are answered by only one "
                "generator and are left out",
                err=True,
            )
        with _client() as client:
            if job is None:
                body = {
                    "name": name or file.name,
                    "annotators": annotator or [],
                    "routing": routing,
                    "human_overlap": human_overlap,
                    # AlpacaEval pairs: win rates against the reference outputs' generator
                    "reference_generator": comparisons.generators[0]
                    if comparisons.generators
                    else None,
                }
                job = _create_for(client, file, body)
            result = _upload(client, job, comparisons.rows, batch_size)
            typer.echo(
                f"job {job}: {result.created} comparisons added, {result.unchanged} already there"
            )
            if wait:
                final = _wait_with_bar(client, job, timeout, poll_seconds)
                typer.echo(
                    f"job {job}: {final.done} of {final.total} comparisons judged, "
                    f"{final.annotations} judgments ({final.job_status})"
                )


def _create_for(client: PrefarmClient, file: Path, body: dict[str, Any]) -> int:
    created = client.create_job(**body, idempotency_key=_new_job_key(file, body))
    typer.echo(f"job {created['id']}: {created['name']}")
    return int(created["id"])


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
    )


def _upload(client: PrefarmClient, job: int, rows: list[dict[str, Any]], batch_size: int) -> Any:
    with _bar() as bar:
        task = bar.add_task("uploading", total=len(rows), note="")
        return client.submit_comparisons(
            job,
            rows,
            batch_size=batch_size,
            on_batch=lambda sent, _total: bar.update(task, completed=sent),
        )


def _wait_with_bar(
    client: PrefarmClient, job: int, timeout: float | None, poll_seconds: float
) -> JobProgress:
    last: list[JobProgress] = []
    with _bar() as bar:
        task = bar.add_task("judging", total=None, note="")

        def show(progress: JobProgress) -> None:
            last.append(progress)
            bar.update(
                task,
                total=progress.total,
                completed=progress.done,
                note=f"{progress.annotations} judgments, job {progress.job_status}",
            )

        client.wait(job, timeout=timeout, poll_seconds=poll_seconds, on_progress=show)
    return last[-1]


@jobs_cli.command("stats")
def stats(
    job: JobId,
    as_json: AsJson = False,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap rounds of the rating intervals")] = 200,
) -> None:
    """Agreement, bias, win rates and ratings of a job, as tables."""
    with _reported_errors(), _client() as client:
        report = client.stats(job, bootstrap=bootstrap)
    if as_json:
        _print_json(report)
        return
    for key, value in report.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            console.print(_table(key, value))
        elif isinstance(value, dict):
            console.print(_table(key, [{"": k, "value": v} for k, v in value.items()]))
        else:
            console.print(f"{key}: {_cell(value)}")


# Wide tables of a few rows are shown turned, one column per row, to fit a terminal.
_MAX_COLUMNS = 10
_MAX_TURNED_ROWS = 6


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if len(columns) > _MAX_COLUMNS and len(rows) <= _MAX_TURNED_ROWS:
        first, *fields = columns
        table = Table(first, *(_cell(row.get(first)) for row in rows), title=title)
        for field in fields:
            table.add_row(field, *(_cell(row.get(field)) for row in rows))
    else:
        table = Table(*columns, title=title)
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
    table.title_justify = "left"
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
