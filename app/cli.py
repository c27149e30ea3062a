"""The operator commands of `prefarm`: the ones that run the service or work on its database.

The `prefarm` command itself belongs to the client package (`prefarm_client.cli`), which holds
the researcher commands (over HTTP). This package adds the commands below through the
`prefarm.commands` entry points (pyproject.toml); they are imported only when one of them runs.

Every command that opens the database first says which one (`database: …` on stderr), and only
`db upgrade`, `serve` and `demo` may create a SQLite file: the others stop when it is missing,
so a missing PREFARM_DATABASE_URL or a typo never leaves an empty `prefarm.db` behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

operator_cli = typer.Typer(help="prefarm operator commands.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="Accounts.", no_args_is_help=True)
tokens_cli = typer.Typer(
    help="API tokens of any account, on the database (researchers manage their own over the "
    "API: GET/POST/DELETE /api/v1/tokens).",
    no_args_is_help=True,
)
workers_cli = typer.Typer(help="Worker processes and their heartbeats.", no_args_is_help=True)
operator_cli.add_typer(db_cli, name="db")
operator_cli.add_typer(users_cli, name="users")
operator_cli.add_typer(tokens_cli, name="tokens")
operator_cli.add_typer(workers_cli, name="workers")


def database_url() -> str:
    from app.config import get_settings

    return get_settings().database_url


def shown_url(url: str) -> str:
    """The URL with its password hidden, as commands print it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def open_engine(*, may_create: bool = False) -> Engine:
    """The configured database, announced on stderr. Unless `may_create`, a SQLite file that
    does not exist stops the command instead of being created."""
    from app.db.engine import get_engine

    url = database_url()
    typer.echo(f"database: {shown_url(url)}", err=True)
    path = sqlite_file(url)
    if path is not None and not may_create and not path.exists():
        typer.echo(
            f"error: there is no database at {path}. Set PREFARM_DATABASE_URL to the server's "
            "database (the demo prints its own), or create this one with `prefarm db upgrade`",
            err=True,
        )
        raise typer.Exit(code=2)
    return get_engine(url)


def _configure_logging() -> None:
    """The long-running commands log in one format (PREFARM_LOG_FORMAT, PREFARM_LOG_LEVEL)."""
    from app.config import get_settings
    from app.observability.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


def _database_unreachable(error: BaseException, delay: float) -> None:
    import logging

    reason = str(error).splitlines()[0][:200]
    logging.getLogger("prefarm.db").warning(
        "the database is not reachable (%s); retrying in %.0f s", reason, delay
    )


def ensure_schema(engine: Engine) -> None:
    """SQLite is migrated on start; PostgreSQL must be upgraded deliberately. A PostgreSQL
    that cannot be reached yet is waited for (logged, with a growing delay)."""
    from app.db.dialect import is_sqlite_url
    from app.db.migrate import head_revision, revision_once_reachable, upgrade

    if is_sqlite_url(str(engine.url)):
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


def _account_error_exit(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest migration (creates a SQLite file if needed)."""
    from app.db.migrate import current_revision, upgrade

    engine = open_engine(may_create=True)
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")


@operator_cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PREFARM_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PREFARM_PORT")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
) -> None:
    """Run the HTTP service (creates and migrates a SQLite database if needed)."""
    import uvicorn

    from app.config import get_settings
    from app.observability.logs import logging_config

    settings = get_settings()
    _configure_logging()
    ensure_schema(open_engine(may_create=True))
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

    engine = open_engine()
    ensure_schema(engine)
    try:
        with unit_of_work(engine) as session:
            user = create_user(session, email, role, password)
            typer.echo(f"created {user.role} {user.email} (id {user.id})")
    except AccountError as exc:
        raise _account_error_exit(exc) from exc


@tokens_cli.command("create")
def tokens_create(
    email: Annotated[str, typer.Option(help="Whose token")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "",
    expires_days: Annotated[
        float | None, typer.Option(help="Refused after this many days; default: never")
    ] = None,
) -> None:
    """Create an API token; it is printed once (alone on stdout) and stored only as a hash."""
    from app.accounts.service import AccountError, create_token, find_user
    from app.db.session import unit_of_work

    engine = open_engine()
    ensure_schema(engine)
    try:
        with unit_of_work(engine) as session:
            token = create_token(
                session, find_user(session, email), name, expires_in_days=expires_days
            )
    except AccountError as exc:
        raise _account_error_exit(exc) from exc
    typer.echo(token)


@tokens_cli.command("list")
def tokens_list(
    email: Annotated[str | None, typer.Option(help="Whose tokens; default: everyone's")] = None,
) -> None:
    """API tokens with their owner, name, prefix, creation, last use, expiry and revocation."""
    from rich.console import Console
    from rich.table import Table

    from app.accounts.service import AccountError, list_tokens
    from app.db.session import unit_of_work

    engine = open_engine()
    ensure_schema(engine)
    try:
        with unit_of_work(engine) as session:
            tokens = list_tokens(session, owner_email=email)
    except AccountError as exc:
        raise _account_error_exit(exc) from exc
    shown = Table("id", "owner", "name", "prefix", "created", "last used", "expires", "revoked")
    for token in tokens:
        shown.add_row(
            str(token.id),
            token.owner,
            token.name,
            token.prefix + "…",
            _when(token.created_at),
            _when(token.last_used_at),
            _when(token.expires_at),
            _when(token.revoked_at),
        )
    Console().print(shown)


def _when(moment: object) -> str:
    return str(moment)[:19] if moment is not None else ""


@tokens_cli.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (tokens list)")],
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from app.accounts.service import AccountError, revoke_token
    from app.db.session import unit_of_work

    engine = open_engine()
    ensure_schema(engine)
    try:
        with unit_of_work(engine) as session:
            token = revoke_token(session, token_id)
    except AccountError as exc:
        raise _account_error_exit(exc) from exc
    typer.echo(f"revoked token {token.id} ({token.prefix}…) of {token.owner}")


@operator_cli.command()
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
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes to run, each with --concurrency calls in flight"
        ),
    ] = 1,
) -> None:
    """Run simulated-annotation tasks and webhook deliveries (any number of these, on any
    machines). SIGTERM finishes or releases the running tasks, then exits."""
    from functools import partial

    from app.worker.process import run_processes

    _configure_logging()
    engine = open_engine()
    ensure_schema(engine)
    engine.dispose()
    if processes == 1:
        done = _run_worker(concurrency, claim_batch, until_idle)
    else:
        child = partial(_run_worker, concurrency, claim_batch, until_idle, child=True)
        done = run_processes(processes, child)
    typer.echo(f"worker stopped; {done} tasks completed")


def _run_worker(
    concurrency: int | None, claim_batch: int | None, until_idle: bool, *, child: bool = False
) -> int:
    """One worker until it stops (also the body of each `--processes` child, a fresh
    interpreter that configures its own logging)."""
    from app.config import get_settings
    from app.db.engine import get_engine
    from app.worker.process import run_process
    from app.worker.runner import WorkerOptions

    if child:
        _configure_logging()
    settings = get_settings()
    options = WorkerOptions.from_settings(
        settings, concurrency=concurrency, claim_batch=claim_batch
    )
    return run_process(get_engine(database_url()), options, until_idle=until_idle)


@workers_cli.command("list")
def workers_list(
    max_age: Annotated[float, typer.Option(help="Heartbeats older than this are stale")] = 90,
) -> None:
    """Worker processes that have run, newest heartbeat first."""
    from rich.console import Console
    from rich.table import Table

    from app.db.session import unit_of_work
    from app.worker.heartbeat import list_workers

    engine = open_engine()
    ensure_schema(engine)
    with unit_of_work(engine) as session:
        rows = list_workers(session, max_age)
    shown = Table("worker", "host", "pid", "started", "heartbeat", "age s", "state")
    for row in rows:
        shown.add_row(
            row.worker_id,
            row.host,
            str(row.pid),
            _when(row.started_at),
            _when(row.heartbeat_at),
            f"{row.age_seconds:.0f}",
            row.state,
        )
    Console().print(shown)


@workers_cli.command("check")
def workers_check(
    max_age: Annotated[float, typer.Option(help="Seconds a heartbeat may be old")] = 90,
    host: Annotated[
        str | None, typer.Option(help="Only workers of this host; default: this machine's name")
    ] = None,
) -> None:
    """Exit 0 when a running worker of this host has a heartbeat younger than --max-age, 1
    otherwise: a container health check (docker-compose.yml)."""
    import socket

    from app.db.session import unit_of_work
    from app.worker.heartbeat import freshest_heartbeat_age

    engine = open_engine()
    with unit_of_work(engine) as session:
        age = freshest_heartbeat_age(session, host or socket.gethostname())
    if age is None or age > max_age:
        shown = "none" if age is None else f"{age:.0f} s old"
        typer.echo(f"unhealthy: newest heartbeat {shown} (limit {max_age:.0f} s)", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"healthy: heartbeat {age:.0f} s old")


@operator_cli.command("demo")
def demo(
    database: Annotated[Path, typer.Option(help="SQLite file of the demo, made if missing")] = Path(
        "prefarm-demo.db"
    ),
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    serve: Annotated[
        bool, typer.Option(help="--no-serve: set everything up, then stop instead of serving")
    ] = True,
    wait_seconds: Annotated[
        float, typer.Option(help="How long to wait for the baseline's judgments")
    ] = 60.0,
) -> None:
    """Run prefarm with demo accounts and jobs on an embedded SQLite database (Ctrl-C stops)."""
    from app.demo.command import run_demo

    run_demo(database, host, port, serve=serve, wait_seconds=wait_seconds)


# What the `prefarm.commands` entry points name: the client's `prefarm` asks it for a command.
operator_group = typer.main.get_group(operator_cli)

if __name__ == "__main__":  # `python -m app.cli worker …`: the operator commands alone
    operator_group()
