"""The `prefarm` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from app.client.commands import jobs_cli
from app.config import get_settings
from app.demo.command import demo

cli = typer.Typer(help="prefarm: pairwise preference annotation service.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="Accounts.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(jobs_cli, name="jobs")
cli.command("demo")(demo)


def _engine() -> Engine:
    from app.db.engine import get_engine

    return get_engine(get_settings().database_url)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest migration."""
    from app.db.migrate import current_revision, upgrade

    engine = _engine()
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")


def _configure_logging() -> None:
    """The long-running commands log in one format (PREFARM_LOG_FORMAT, PREFARM_LOG_LEVEL)."""
    from app.observability.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


def _database_unreachable(error: BaseException, delay: float) -> None:
    import logging

    reason = str(error).splitlines()[0][:200]
    logging.getLogger("prefarm.db").warning(
        "the database is not reachable (%s); retrying in %.0f s", reason, delay
    )


def ensure_schema() -> None:
    """SQLite is migrated on start; PostgreSQL must be upgraded deliberately. A PostgreSQL
    that cannot be reached yet is waited for (logged, with a growing delay)."""
    from app.db.dialect import is_sqlite_url
    from app.db.migrate import head_revision, revision_once_reachable, upgrade

    engine = _engine()
    if is_sqlite_url(get_settings().database_url):
        upgrade(engine)
        return
    current = revision_once_reachable(engine, _database_unreachable)
    head = head_revision()
    if current != head:
        typer.echo(
            f"the database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `prefarm db upgrade` first",
            err=True,
        )
        raise typer.Exit(code=2)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PREFARM_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PREFARM_PORT")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from app.observability.logs import logging_config

    settings = get_settings()
    _configure_logging()
    ensure_schema()
    uvicorn.run(
        "app.server:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,  # RequestObservability writes one line per request, with its id
        # Forwarded headers are believed only from PREFARM_FORWARDED_ALLOW_IPS, by the app
        # itself (app.server); uvicorn's own handling trusts 127.0.0.1 by default.
        proxy_headers=False,
    )


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login and unique name")],
    role: Annotated[str, typer.Option(help="admin, researcher or rater")],
    password: Annotated[
        str | None, typer.Option(help="For the web pages; raters and admins need one")
    ] = None,
) -> None:
    """Create an account."""
    from app.accounts.service import AccountError, create_user
    from app.db.session import unit_of_work

    ensure_schema()
    try:
        with unit_of_work(_engine()) as session:
            user = create_user(session, email, role, password)
            typer.echo(f"created {user.role} {user.email} (id {user.id})")
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@tokens_cli.command("create")
def tokens_create(
    email: Annotated[str, typer.Option(help="Whose token")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "",
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from app.accounts.service import AccountError, create_token, find_user
    from app.db.session import unit_of_work

    ensure_schema()
    try:
        with unit_of_work(_engine()) as session:
            token = create_token(session, find_user(session, email), name)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(token)


@cli.command("export")
def export(
    job: Annotated[int, typer.Argument(help="The job's id")],
    format: Annotated[
        str, typer.Option(help="annotations, alpaca_farm, trl, openai_dpo, hh_rlhf or arena")
    ],
    out: Annotated[
        Path, typer.Option(help="File to write; .jsonl, .csv or .parquet, .gz to compress")
    ],
    aggregate: Annotated[str, typer.Option(help="majority or mean")] = "majority",
    ties: Annotated[str, typer.Option(help="drop, or keep where the format can")] = "drop",
    min_judgments: Annotated[int, typer.Option(help="Skip comparisons with fewer")] = 1,
    test_fraction: Annotated[float, typer.Option(help="Share of instructions in test")] = 0.0,
    split: Annotated[str, typer.Option(help="all, train or test")] = "all",
    split_seed: Annotated[int, typer.Option(help="Default: the job's seed")] = -1,
    kinds: Annotated[str, typer.Option(help="Comma-separated: human, simulated")] = "",
    annotators: Annotated[str, typer.Option(help="Comma-separated annotator names")] = "",
    conversational: Annotated[bool, typer.Option(help="trl: message lists")] = False,
) -> None:
    """Write a job's judgments as a training dataset, with a progress bar."""
    from app.exports import ExportOptionError, ExportOptions
    from app.exports.command import ExportCommandError, file_type_for, run_export
    from app.stats.data import Selection, comma_separated

    ensure_schema()
    file_type, gzip = file_type_for(out)
    options = ExportOptions(
        format=format,  # type: ignore[arg-type]
        file_type=file_type,  # type: ignore[arg-type]
        gzip=gzip,
        selection=Selection(annotators=comma_separated(annotators), kinds=comma_separated(kinds)),
        aggregate=aggregate,  # type: ignore[arg-type]
        ties=ties,  # type: ignore[arg-type]
        min_judgments=min_judgments,
        test_fraction=test_fraction,
        split=split,  # type: ignore[arg-type]
        split_seed=split_seed,
        conversational=conversational,
    )
    try:
        options.check()
        lines = run_export(_engine(), job, out, options)
    except (ExportOptionError, ExportCommandError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"wrote {lines} lines to {out}")


@cli.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Provider calls in flight. Default: PREFARM_WORKER_CONCURRENCY"),
    ] = None,
    claim_batch: Annotated[
        int | None, typer.Option(help="Tasks per claim. Default: PREFARM_WORKER_CLAIM_BATCH")
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit once no task is left to claim")
    ] = False,
) -> None:
    """Run simulated-annotation tasks (any number of these, on any machines). SIGTERM finishes
    or releases the running tasks, then exits."""
    from app.worker.process import run_process
    from app.worker.runner import WorkerOptions

    _configure_logging()
    ensure_schema()
    options = WorkerOptions.from_settings(
        get_settings(), concurrency=concurrency, claim_batch=claim_batch
    )
    done = run_process(_engine(), options, until_idle=until_idle)
    typer.echo(f"worker stopped; {done} tasks completed")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
