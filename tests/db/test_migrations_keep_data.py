"""Upgrading keeps what is stored and fills new columns from it; downgrading says what it drops.
Each test builds its own database at an old revision, on SQLite or on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.db.migrate import downgrade, head_revision, upgrade

NOW = datetime.now(UTC)
UUID_I, UUID_O1, UUID_O2 = (uuid.UUID(int=n).hex for n in (1, 2, 3))


@pytest.fixture
def scratch(engine: Engine, on_postgres: bool, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the suite's kind (a new PostgreSQL database, or a SQLite file)."""
    if not on_postgres:
        scratch_engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield scratch_engine
        scratch_engine.dispose()
        return
    admin = engine.url.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"prefarm_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    scratch_engine = make_engine(engine.url.set(database=name).render_as_string(False))
    yield scratch_engine
    scratch_engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def insert(engine: Engine, table: str, **values: object) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def column(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


@pytest.fixture
def rated_at_0001(scratch: Engine) -> Engine:
    """A 0001 database with a job (k = 2) rated by three raters: comparison 1 has two submitted
    judgments, 2 one live lease and one lapsed lease, 3 a skip and an expired lease, 4 a rater's
    judgment stored without an assignment, 5 nothing."""
    upgrade(scratch, "0001")
    insert(scratch, "users", id=1, email="owner@example.org", role="researcher", active=True)
    for user in (2, 3, 4):
        insert(scratch, "users", id=user, email=f"r{user}@example.org", role="rater", active=True)
        insert(scratch, "annotators", id=user, kind="human", name=f"human:r{user}", user_id=user)
    insert(
        scratch,
        "jobs",
        id=1,
        owner_id=1,
        name="rated",
        routing='{"policy": "human"}',
        human_overlap=2,
        annotators="[]",
        seed=0,
        status="active",
    )
    insert(scratch, "instructions", id=UUID_I, instruction="q", input="")
    for output in (UUID_O1, UUID_O2):
        insert(scratch, "outputs", id=output, instruction_id=UUID_I, generator="g", text=output)
    for comparison in range(1, 6):
        insert(
            scratch,
            "comparisons",
            id=comparison,
            job_id=1,
            external_id=f"c{comparison}",
            instruction_id=UUID_I,
            output_1_id=UUID_O1,
            output_2_id=UUID_O2,
            route="human",
            status="pending",
            content_sha256="x",
        )
    leases = [
        (1, 2, "submitted", NOW - timedelta(hours=1)),
        (1, 3, "submitted", NOW - timedelta(hours=1)),
        (2, 2, "leased", NOW + timedelta(minutes=10)),
        (2, 3, "leased", NOW - timedelta(minutes=10)),
        (3, 2, "skipped", NOW),
        (3, 3, "expired", NOW - timedelta(hours=2)),
    ]
    for number, (comparison, user, status, expires) in enumerate(leases, start=1):
        insert(
            scratch,
            "assignments",
            id=number,
            job_id=1,
            comparison_id=comparison,
            user_id=user,
            status=status,
            shown_swapped=False,
            expires_at=expires,
            created_at=NOW - timedelta(hours=3),
        )
    for number, (comparison, user) in enumerate([(1, 2), (1, 3), (4, 4)], start=1):
        insert(
            scratch,
            "annotations",
            id=number,
            job_id=1,
            comparison_id=comparison,
            annotator_id=user,
            repeat=0,
            preference=1.0,
            is_noisy_label=False,
            source="web",
            created_at=NOW - timedelta(hours=2, minutes=number),
        )
    return scratch


def test_upgrading_through_0002_counts_human_claims_from_what_is_stored(rated_at_0001) -> None:
    upgrade(rated_at_0001)

    rows = column(rated_at_0001, "SELECT id, human_claims, human_open FROM comparisons ORDER BY id")
    assert [(id_, claims, bool(open_)) for id_, claims, open_ in rows] == [
        (1, 2, False),  # two submitted judgments: k = 2 reached
        (2, 2, False),  # two leases; the lapsed one is given back when swept
        (3, 0, True),  # a skip and an expired lease hold nothing
        (4, 1, True),  # a rater's judgment without an assignment
        (5, 0, True),
    ]


def test_upgrading_through_0002_dates_submissions_by_their_judgments(rated_at_0001) -> None:
    upgrade(rated_at_0001)

    submitted = column(
        rated_at_0001,
        "SELECT id FROM assignments WHERE status = 'submitted' AND submitted_at IS NOT NULL",
    )
    assert sorted(submitted) == [(1,), (2,)]
    assert column(rated_at_0001, "SELECT COUNT(*) FROM assignments WHERE submitted_at IS NULL")[
        0
    ] == (4,)


def test_upgrading_keeps_every_row(rated_at_0001) -> None:
    tables = ("users", "jobs", "comparisons", "assignments", "annotations", "annotators")
    before = {t: column(rated_at_0001, f"SELECT COUNT(*) FROM {t}") for t in tables}

    upgrade(rated_at_0001)

    assert {t: column(rated_at_0001, f"SELECT COUNT(*) FROM {t}") for t in tables} == before
    assert column(rated_at_0001, "SELECT priority FROM jobs") == [(1,)]


def test_a_cancelled_jobs_queued_tasks_are_cancelled_by_0005(scratch: Engine) -> None:
    upgrade(scratch, "0004")
    insert(scratch, "users", id=1, email="owner@example.org", role="researcher", active=True)
    insert(scratch, "annotators", id=1, kind="simulated", name="judge")
    insert(scratch, "instructions", id=UUID_I, instruction="q", input="")
    insert(scratch, "outputs", id=UUID_O1, instruction_id=UUID_I, generator="g", text="a")
    for job, status in ((1, "cancelled"), (2, "active")):
        insert(
            scratch,
            "jobs",
            id=job,
            owner_id=1,
            name="j",
            routing="{}",
            human_overlap=1,
            annotators="[]",
            seed=0,
            status=status,
        )
        insert(
            scratch,
            "comparisons",
            id=job,
            job_id=job,
            external_id="c",
            instruction_id=UUID_I,
            output_1_id=UUID_O1,
            output_2_id=UUID_O1,
            route="simulated",
            status="pending",
            content_sha256="x",
        )
        insert(scratch, "tasks", id=job, job_id=job, comparison_id=job, annotator_id=1,
               status="queued", attempts=0)  # fmt: skip

    upgrade(scratch)

    assert column(scratch, "SELECT job_id, status FROM tasks ORDER BY job_id") == [
        (1, "cancelled"),
        (2, "queued"),
    ]


def test_downgrading_and_upgrading_again_keeps_comparisons_and_judgments(rated_at_0001) -> None:
    upgrade(rated_at_0001)

    downgrade(rated_at_0001, "0001")
    upgrade(rated_at_0001)

    assert column(rated_at_0001, "SELECT COUNT(*) FROM comparisons") == [(5,)]
    assert column(rated_at_0001, "SELECT COUNT(*) FROM annotations") == [(3,)]
    assert column(rated_at_0001, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
