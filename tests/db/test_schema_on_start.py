"""`prefarm serve` migrates SQLite itself and refuses a PostgreSQL schema behind the code."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from prefarm_client.cli import cli
from sqlalchemy import Engine
from typer.testing import CliRunner

from app.cli import ensure_schema
from app.config import get_settings
from app.db.engine import get_engine, make_engine
from app.db.migrate import current_revision, head_revision


@pytest.fixture
def database_env(monkeypatch: pytest.MonkeyPatch):
    def use(url: str) -> None:
        monkeypatch.setenv("PREFARM_DATABASE_URL", url)
        get_settings.cache_clear()
        get_engine.cache_clear()

    yield use
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_a_new_sqlite_database_is_migrated_on_start(tmp_path: Path, database_env) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    database_env(url)
    ensure_schema(make_engine(url))
    assert current_revision(make_engine(url)) == head_revision()


@pytest.fixture
def empty_postgres(engine: Engine, on_postgres: bool):
    if not on_postgres:
        pytest.skip("needs PostgreSQL (set PREFARM_TEST_DATABASE_URL)")
    admin_dsn = engine.url.set(database="postgres").render_as_string(hide_password=False)
    admin_dsn = admin_dsn.replace("postgresql+psycopg://", "postgresql://")
    name = f"prefarm_behind_head_{uuid.uuid4().hex[:12]}"  # concurrent suites never collide
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_serve_refuses_a_postgres_behind_head_and_names_the_fix(
    empty_postgres: str, database_env
) -> None:
    database_env(empty_postgres)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "prefarm db upgrade" in result.output
    assert current_revision(make_engine(empty_postgres)) is None


def test_db_upgrade_brings_postgres_to_head(empty_postgres: str, database_env) -> None:
    database_env(empty_postgres)
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = make_engine(empty_postgres)
    assert current_revision(engine) == head_revision()
    engine.dispose()
