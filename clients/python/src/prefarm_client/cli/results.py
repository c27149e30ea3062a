"""`prefarm stats` and `prefarm export`: a job's statistics and datasets, over the API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prefarm_client.cli.common import (
    cell,
    console,
    err_console,
    make_client,
    print_json,
    reported_errors,
    table,
)

if TYPE_CHECKING:
    from prefarm_client.client import PrefarmClient

JobId = Annotated[int, typer.Argument(help="The job's id")]
Annotators = Annotated[str | None, typer.Option(help="Comma-separated annotator names")]
Kinds = Annotated[str | None, typer.Option(help="Comma-separated: human, simulated")]
Since = Annotated[str | None, typer.Option(help="Judgments from (ISO 8601 with a zone)")]
Until = Annotated[str | None, typer.Option(help="Judgments before (ISO 8601 with a zone)")]
Gold = Annotated[str | None, typer.Option(help="include, exclude or only gold comparisons")]
STATS_TABLES = ("evaluators", "agreement", "win_rates", "ratings", "calibration")
FORMATS = ("annotations", "alpaca_farm", "trl", "openai_dpo", "hh_rlhf", "arena")


def stats(
    job: JobId,
    annotators: Annotators = None,
    kinds: Kinds = None,
    since: Since = None,
    until: Until = None,
    gold: Gold = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap rounds of the rating intervals")] = 200,
    seed: Annotated[int | None, typer.Option(help="Default: the job's seed")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to a file: .json the whole report, .csv one --table"),
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option(help="Write every table as <table>.csv into this folder")
    ] = None,
    table_name: Annotated[
        str, typer.Option("--table", help=f"The table of --out FILE.csv: {', '.join(STATS_TABLES)}")
    ] = "evaluators",
) -> None:
    """Agreement, bias, win rates and ratings of a job: tables, JSON or CSV files."""
    filters: dict[str, Any] = {
        "annotators": annotators,
        "kinds": kinds,
        "since": since,
        "until": until,
        "gold": gold,
        "bootstrap": bootstrap,
        "seed": seed,
    }
    with reported_errors(), make_client() as client:
        if out is not None and out.suffix.lower() == ".csv":
            out.write_text(client.stats_csv(job, table_name, **filters), encoding="utf-8")
            typer.echo(f"wrote the {table_name} table to {out}")
            return
        if csv_dir is not None:
            csv_dir.mkdir(parents=True, exist_ok=True)
            for name in STATS_TABLES:
                path = csv_dir / f"{name}.csv"
                path.write_text(client.stats_csv(job, name, **filters), encoding="utf-8")
                typer.echo(f"wrote {path}")
            return
        report = client.stats(job, **filters)
    if out is not None:
        import json

        out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        typer.echo(f"wrote the report to {out}")
        return
    if as_json:
        print_json(report)
        return
    for key, value in report.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            console.print(table(key, value))
        elif isinstance(value, dict):
            console.print(table(key, [{"": k, "value": v} for k, v in value.items()]))
        else:
            console.print(f"{key}: {cell(value)}")


def _file_type_of(path: Path) -> tuple[str, bool]:
    """(file type, gzip) from a name such as data.jsonl, data.csv.gz or data.parquet."""
    suffixes = [s.lower() for s in path.suffixes]
    gzip = bool(suffixes) and suffixes[-1] == ".gz"
    if gzip:
        suffixes = suffixes[:-1]
    last = suffixes[-1].lstrip(".") if suffixes else "jsonl"
    return {"json": "jsonl", "ndjson": "jsonl"}.get(last, last), gzip


def split_path(path: Path, split: str) -> Path:
    """prefs.jsonl -> prefs.train.jsonl (the split before the file's own suffixes)."""
    name = path.name
    stem, dot, rest = name.partition(".")
    return path.with_name(f"{stem}.{split}{dot}{rest}" if dot else f"{name}.{split}")


def export(
    job: JobId,
    format: Annotated[
        list[str],
        typer.Option(help=f"{', '.join(FORMATS)}, or all (repeatable)"),
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="The file of one format: .jsonl, .csv or .parquet, .gz to compress"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for several formats, files named job-<id>-<format>…"),
    ] = None,
    file_type: Annotated[
        str, typer.Option(help="With --out-dir: jsonl, csv or parquet where the format allows")
    ] = "jsonl",
    gzip: Annotated[bool, typer.Option(help="With --out-dir: gzip JSONL and CSV")] = False,
    aggregate: Annotated[str, typer.Option(help="majority or mean")] = "majority",
    ties: Annotated[str, typer.Option(help="drop, or keep where the format can")] = "drop",
    min_judgments: Annotated[int, typer.Option(help="Skip comparisons with fewer")] = 1,
    test_fraction: Annotated[float, typer.Option(help="Share of instructions in test")] = 0.0,
    split: Annotated[
        str,
        typer.Option(
            help="With --test-fraction: both (a file per split), train, test, or all (one file "
            "with a split column)"
        ),
    ] = "both",
    split_seed: Annotated[int | None, typer.Option(help="Default: the job's seed")] = None,
    annotators: Annotators = None,
    kinds: Kinds = None,
    since: Since = None,
    until: Until = None,
    gold: Gold = None,
    conversational: Annotated[bool, typer.Option(help="trl: message lists")] = False,
) -> None:
    """Download a job's judgments as training datasets, one file per format and split."""
    formats = list(FORMATS) if "all" in format else list(dict.fromkeys(format))
    if out is not None and (out_dir is not None or len(formats) > 1):
        typer.echo("error: --out names one file; use --out-dir for several formats", err=True)
        raise typer.Exit(code=2)
    splits = ["all"]
    if test_fraction > 0:
        splits = ["train", "test"] if split == "both" else [split]
    elif split not in ("both", "all"):
        typer.echo("error: --split needs a --test-fraction above 0", err=True)
        raise typer.Exit(code=2)
    options: dict[str, Any] = {
        "aggregate": aggregate,
        "ties": ties,
        "min_judgments": min_judgments,
        "test_fraction": test_fraction or None,
        "split_seed": split_seed,
        "annotators": annotators,
        "kinds": kinds,
        "since": since,
        "until": until,
        "gold": gold,
        "conversational": conversational or None,
    }
    written: dict[str, list[Path]] = {}
    with reported_errors(), make_client() as client:
        for name in formats:
            if out is not None:
                base, (kind, zipped) = out, _file_type_of(out)
            else:
                kind, zipped = file_type, gzip
                suffix = f".{kind}" + (".gz" if zipped else "")
                base = (out_dir or Path(".")) / f"job-{job}-{name}{suffix}"
            for side in splits:
                path = base if side == "all" else split_path(base, side)
                path.parent.mkdir(parents=True, exist_ok=True)
                params = {**options, "split": side, "file_type": kind, "gzip": zipped or None}
                path = _download(client, job, name, path, params, fallback=out is None)
                written.setdefault(side, []).append(path)
    if set(written) == {"train", "test"}:
        typer.echo("load a split pair with the Hugging Face datasets library, e.g.:")
        typer.echo(
            f'  datasets.load_dataset("json", data_files={{"train": "{written["train"][0]}", '
            f'"test": "{written["test"][0]}"}})'
        )


def _download(
    client: PrefarmClient,
    job: int,
    format: str,
    path: Path,
    params: dict[str, Any],
    *,
    fallback: bool,
) -> Path:
    """One streamed export with a byte counter. With `fallback`, a file type the format cannot
    be written as is replaced by JSONL (every format can), with a note."""
    from rich.progress import DownloadColumn, Progress, SpinnerColumn, TextColumn

    from prefarm_client.client import PrefarmError

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), DownloadColumn(), console=err_console
    ) as bar:
        task = bar.add_task(f"{path.name}", total=None)
        try:
            client.export(
                job,
                path,
                format=format,
                on_bytes=lambda n: bar.update(task, completed=n),
                **params,
            )
        except PrefarmError as exc:
            refused_type = exc.status == 422 and "file_type" in str(exc.details)
            if not (fallback and refused_type and params["file_type"] != "jsonl"):
                raise
            path = path.with_name(path.name.replace(f".{params['file_type']}", ".jsonl", 1))
            typer.echo(f"note: {format} cannot be {params['file_type']}; writing {path}", err=True)
            bar.update(task, description=path.name)
            client.export(
                job,
                path,
                format=format,
                on_bytes=lambda n: bar.update(task, completed=n),
                **{**params, "file_type": "jsonl"},
            )
    lines = _count_lines(path, params)
    typer.echo(f"wrote {path}" + (f" ({lines} lines)" if lines is not None else ""))
    return path


def _count_lines(path: Path, params: dict[str, Any]) -> int | None:
    if params.get("file_type") == "parquet":
        return None
    if params.get("gzip"):
        import gzip

        with gzip.open(path, "rb") as handle:
            return sum(1 for _ in handle)
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
