"""The `prefarm` command."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from app.config import get_settings

cli = typer.Typer(help="prefarm: pairwise preference annotation service.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="Accounts.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")


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


def ensure_schema() -> None:
    """SQLite is migrated on start; PostgreSQL must be upgraded deliberately."""
    from app.db.engine import is_sqlite
    from app.db.migrate import current_revision, head_revision, upgrade

    engine = _engine()
    if is_sqlite(get_settings().database_url):
        upgrade(engine)
        return
    current, head = current_revision(engine), head_revision()
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

    settings = get_settings()
    ensure_schema()
    uvicorn.run(
        "app.api:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
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
    from app.db.engine import session_scope

    ensure_schema()
    try:
        with session_scope(_engine()) as session:
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
    from app.db.engine import session_scope

    ensure_schema()
    try:
        with session_scope(_engine()) as session:
            token = create_token(session, find_user(session, email), name)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(token)


def main() -> None:
    cli()
