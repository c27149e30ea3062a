"""Workers write a heartbeat; `prefarm workers check` (the container health check) reads it."""

from __future__ import annotations

import re
import time

import pytest
from prefarm_client.cli import cli
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.db.models import WorkerHeartbeat
from app.worker.process import BackgroundWorker
from app.worker.runner import WorkerOptions


def _heartbeats(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(WorkerHeartbeat.worker_id)))


@pytest.fixture
def operator(database_url: str, engine, monkeypatch: pytest.MonkeyPatch):
    from app.config import get_settings
    from app.db.engine import get_engine

    monkeypatch.setenv("PREFARM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_a_running_worker_is_healthy_and_a_stopped_one_is_not(
    operator, engine: Engine, db: Session
) -> None:
    assert operator("workers", "check").exit_code == 1  # no worker has ever run
    background = BackgroundWorker(engine, WorkerOptions(poll_seconds=0.05, lease_seconds=3))
    background.start()
    try:
        deadline = time.monotonic() + 30
        while not _heartbeats(engine):  # its first beat
            assert time.monotonic() < deadline
            time.sleep(0.05)
        healthy = operator("workers", "check", "--max-age", "30")
        assert healthy.exit_code == 0, healthy.output
        listed = operator("workers", "list")
        assert background.worker.id in listed.stdout and "running" in listed.stdout
    finally:
        background.stop()
    stopped = operator("workers", "check")
    assert stopped.exit_code == 1
    assert "unhealthy" in stopped.output
    row = db.scalar(select(WorkerHeartbeat))
    assert row is not None and row.stopped_at is not None


def test_a_stale_heartbeat_is_unhealthy(operator, engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from app.db.session import unit_of_work

    with unit_of_work(engine) as session:
        long_ago = datetime.now(UTC) - timedelta(minutes=10)
        import socket

        session.add(
            WorkerHeartbeat(
                worker_id="stuck",
                host=socket.gethostname(),
                pid=1,
                started_at=long_ago,
                heartbeat_at=long_ago,
            )
        )
    result = operator("workers", "check", "--max-age", "90")
    assert result.exit_code == 1
    age = re.search(r"newest heartbeat (\d+) s old", result.output)
    assert age is not None and 590 <= int(age.group(1)) <= 700
