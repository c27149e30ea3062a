"""`prefarm export`: write a job's dataset to a file with a progress bar."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine, select

from app.db.models import Job
from app.db.session import read_connection
from app.exports import ExportOptions, count_candidates, export_bytes


class ExportCommandError(Exception):
    pass


def file_type_for(path: Path) -> tuple[str, bool]:
    """(file type, gzip) from a name such as data.jsonl, data.csv.gz or data.parquet."""
    suffixes = [s.lower() for s in path.suffixes]
    gzip = bool(suffixes) and suffixes[-1] == ".gz"
    if gzip:
        suffixes = suffixes[:-1]
    last = suffixes[-1].lstrip(".") if suffixes else "jsonl"
    file_type = {"jsonl": "jsonl", "json": "jsonl", "ndjson": "jsonl"}.get(last, last)
    return file_type, gzip


def run_export(engine: Engine, job_id: int, out: Path, options: ExportOptions) -> int:
    """Write the export to `out` (through a temporary file, renamed when complete); returns the
    number of lines written."""
    with read_connection(engine) as connection:
        seed = connection.execute(select(Job.seed).where(Job.id == job_id)).scalar_one_or_none()
        if seed is None:
            raise ExportCommandError(f"job {job_id} not found")
        total = count_candidates(connection, job_id, options)
    if options.split_seed < 0:
        options = replace(options, split_seed=seed)
    options = replace(options, seed=seed)
    partial = out.with_name(out.name + ".partial")
    written = 0
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress, partial.open("wb") as handle:
        task = progress.add_task(f"job {job_id} {options.format}", total=total)

        def advance(n: int) -> None:
            nonlocal written
            written = n
            progress.update(task, completed=n)

        for chunk in export_bytes(engine, job_id, options, on_record=advance):
            handle.write(chunk)
        progress.update(task, completed=written, total=written)
    partial.replace(out)
    return written
