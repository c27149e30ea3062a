"""Alembic driven from code: `prefarm db upgrade`, and the head check `prefarm serve` makes."""

from __future__ import annotations

import time
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.db.dialect import is_unavailable, migration_connection
from app.resources import resource_dir


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Back to `revision` (tests, and operators undoing an upgrade: see the revisions'
    docstrings for what a downgrade drops)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def revision_once_reachable(
    engine: Engine,
    on_retry: Callable[[BaseException, float], None],
    max_delay: float = 30.0,
) -> str | None:
    """The schema's revision, waiting for the database while it cannot be reached (a process
    started before its database, or during a restart): retried with a doubling delay up to
    `max_delay`, calling `on_retry(error, delay)` before each wait. Other errors are raised."""
    delay = 1.0
    while True:
        try:
            return current_revision(engine)
        except SQLAlchemyError as exc:
            if not is_unavailable(exc):
                raise
            on_retry(exc, delay)
            time.sleep(delay)
            delay = min(2 * delay, max_delay)
