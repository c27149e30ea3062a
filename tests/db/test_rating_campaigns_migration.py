"""Migration 0008 (rating campaigns) keeps every row on the way up, and its downgrade keeps the
judgments' current versions (what it drops, it says in its docstring)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.db.migrate import alembic_config, current_revision, head_revision, upgrade

REVISION = "0008"


def _below() -> str:
    """The revision 0008 builds on, whatever the chain is when the branches are merged."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    below = script.get_revision(REVISION).down_revision
    assert isinstance(below, str)
    return below


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@pytest.fixture
def scratch_engine(engine: Engine, on_postgres: bool, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the suite's kind (a file for SQLite, a new PostgreSQL database)."""
    if not on_postgres:
        scratch = make_engine(f"sqlite:///{tmp_path / 'migration.db'}")
        yield scratch
        scratch.dispose()
        return
    admin_dsn = engine.url.set(database="postgres").render_as_string(hide_password=False)
    admin_dsn = admin_dsn.replace("postgresql+psycopg://", "postgresql://")
    name = f"prefarm_migration_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    scratch = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    yield scratch
    scratch.dispose()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_ROWS = [
    "INSERT INTO users (id, email, role, active) VALUES (1, 'r@example.org', 'rater', true)",
    "INSERT INTO jobs (id, owner_id, name, routing, human_overlap, annotators, seed, status) "
    """VALUES (1, 1, 'old job', '{"policy": "human"}', 1, '[]', 0, 'active')""",
    "INSERT INTO instructions (id, instruction, input) VALUES (:i, 'Say hi', '')",
    "INSERT INTO outputs (id, instruction_id, generator, text) VALUES (:o1, :i, 'a', 'hi')",
    "INSERT INTO outputs (id, instruction_id, generator, text) VALUES (:o2, :i, 'b', 'hello')",
    "INSERT INTO comparisons (id, job_id, external_id, instruction_id, output_1_id, output_2_id,"
    " route, status, content_sha256) VALUES (1, 1, 'c1', :i, :o1, :o2, 'human', 'done', 'x')",
    "INSERT INTO annotators (id, kind, name, user_id)"
    " VALUES (1, 'human', 'human:r@example.org', 1)",
    "INSERT INTO annotations (id, job_id, comparison_id, annotator_id, preference, label, source,"
    " is_noisy_label) VALUES (1, 1, 1, 1, 2.0, 'output_2', 'web', false)",
    "INSERT INTO rater_jobs (user_id, job_id) VALUES (1, 1)",
]


def _ids(engine: Engine) -> dict[str, str]:
    hex_or_uuid = (lambda u: u.hex) if engine.dialect.name == "sqlite" else str
    return {name: hex_or_uuid(uuid.uuid4()) for name in ("i", "o1", "o2")}


def test_upgrade_keeps_every_row_and_fills_the_new_columns(scratch_engine: Engine) -> None:
    upgrade(scratch_engine, _below())
    ids = _ids(scratch_engine)
    with scratch_engine.begin() as connection:
        for statement in _ROWS:
            connection.execute(text(statement), ids)
    upgrade(scratch_engine, REVISION)
    with scratch_engine.connect() as connection:
        job = connection.execute(
            text("SELECT name, preference_scale, guidelines_version FROM jobs")
        ).one()
        judgment = connection.execute(
            text("SELECT preference, label, strength, guideline_version, version FROM annotations")
        ).one()
        seen = connection.execute(text("SELECT guidelines_seen FROM rater_jobs")).scalar_one()
    assert tuple(job) == ("old job", "binary", 0)
    assert tuple(judgment) == (2.0, "output_2", None, None, 1)
    assert seen == 0


def test_downgrade_keeps_the_current_judgments(scratch_engine: Engine) -> None:
    upgrade(scratch_engine, _below())
    ids = _ids(scratch_engine)
    with scratch_engine.begin() as connection:
        for statement in _ROWS:
            connection.execute(text(statement), ids)
    upgrade(scratch_engine, REVISION)
    with scratch_engine.begin() as connection:
        connection.execute(text("UPDATE annotations SET strength = 3, version = 2"))
    _downgrade(scratch_engine, _below())
    assert current_revision(scratch_engine) == _below()
    with scratch_engine.connect() as connection:
        judgment = connection.execute(text("SELECT preference, label FROM annotations")).one()
    assert tuple(judgment) == (2.0, "output_2")
    upgrade(scratch_engine)
    assert current_revision(scratch_engine) == head_revision()
