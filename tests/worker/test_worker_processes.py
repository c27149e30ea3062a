"""Real `prefarm worker` processes: graceful SIGTERM, SIGKILL mid-run on PostgreSQL, and the
worker that runs inside the API server on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app.config import Settings
from app.db.models import Annotation, Task, WorkerHeartbeat
from app.server import create_app
from tests.fakes.fixtures import expected_preference, marked_pairs

WORKER_COMMAND = [sys.executable, "-c", "from prefarm_client.cli import main; main()", "worker"]


def _start_worker(database_url: str, **settings: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PREFARM_DATABASE_URL": database_url, "PREFARM_LOG_LEVEL": "warning"}
    env.update({f"PREFARM_{k.upper()}": v for k, v in settings.items()})
    return subprocess.Popen(
        WORKER_COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _stop(worker: subprocess.Popen[str]) -> str:
    """SIGTERM, then SIGKILL if it hangs; returns what it wrote to stderr."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        return worker.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.communicate()[1]


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(engine: Engine, *where) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Task).where(*where)) or 0


def test_sigterm_finishes_or_releases_every_task(
    fake_llm, researcher, make_job, post_comparisons, engine, database_url, run_worker, db
):
    fake_llm.latency = 0.3
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(60))
    worker = _start_worker(database_url, worker_concurrency="4", worker_shutdown_grace_seconds="10")
    try:
        _wait_until(lambda: _count(engine, Task.status == "done") >= 4, 120, "first results")
        worker.send_signal(signal.SIGTERM)
        errors = _stop(worker)
        assert worker.returncode == 0, errors
    finally:
        _stop(worker)
    assert _count(engine, Task.status == "running") == 0
    assert _count(engine, Task.leased_by.is_not(None)) == 0
    done = _count(engine, Task.status == "done")
    assert 4 <= done < 60
    assert _count(engine, Task.status == "queued", Task.attempts == 0) == 60 - done
    run_worker()

    assert _count(engine, Task.status == "done") == 60
    assert db.scalar(select(func.count()).select_from(Annotation)) == 60


@pytest.fixture
def shared_queue(on_postgres: bool) -> None:
    """Several workers on one queue: PostgreSQL only."""
    if not on_postgres:
        pytest.skip("several worker processes claim with FOR UPDATE SKIP LOCKED: PostgreSQL only")


@pytest.mark.postgres_only
def test_sigkill_mid_run_loses_and_duplicates_nothing(
    shared_queue, fake_llm, researcher, make_job, post_comparisons, engine, database_url, db
):
    fake_llm.latency = 0.05
    job = make_job(researcher, annotators=["openai_label", "anthropic_label"])
    post_comparisons(researcher, job["id"], marked_pairs(150))
    settings = {
        "worker_concurrency": "8",
        "worker_lease_seconds": "2",
        "worker_poll_seconds": "0.1",
    }
    workers = [_start_worker(database_url, **settings) for _ in range(3)]
    try:

        def victim_holds_tasks() -> bool:
            return _count(engine, Task.status == "done") >= 40 and bool(
                _running_ids(engine, workers[0].pid)
            )

        _wait_until(victim_holds_tasks, 120, "the first worker to hold tasks mid-run")
        victim = workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=10)
        in_flight = _running_ids(engine, victim.pid)  # leased by the dead worker
        assert in_flight, "the killed worker held no task"
        assert _count(engine, Task.status == "done") < 300, "the run ended before the kill"
        _wait_until(lambda: _count(engine, Task.status == "done") == 300, 180, "all tasks done")
    finally:
        for worker in workers:
            _stop(worker)
    assert _count(engine) == 300
    rows = db.execute(
        select(Annotation.comparison_id, Annotation.annotator_id, func.count()).group_by(
            Annotation.comparison_id, Annotation.annotator_id
        )
    ).all()
    assert len(rows) == 300 and {count for *_, count in rows} == {1}
    rerun = db.execute(select(Task.status, Task.attempts).where(Task.id.in_(in_flight))).all()
    assert {status for status, _ in rerun} == {"done"}
    assert all(attempts >= 2 for _, attempts in rerun)  # claimed again after the lease expired
    assert {w.returncode for w in workers[1:]} == {0}


def _running_ids(engine: Engine, pid: int) -> list[int]:
    """Tasks leased by the worker process `pid` (worker ids are host:pid:random)."""
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(Task.id).where(Task.status == "running", Task.leased_by.like(f"%:{pid}:%"))
            )
        )


def test_the_api_server_runs_a_worker_itself_when_told_to(
    fake_llm, database_url, engine, researcher, make_job, post_comparisons
):
    settings = Settings(database_url=database_url, inprocess_worker=True, worker_poll_seconds=0.05)
    job = make_job(researcher, annotators=["openai_label", "longest"])
    with TestClient(create_app(settings, engine)) as client:
        response = client.post(
            f"/api/v1/jobs/{job['id']}/comparisons",
            json=marked_pairs(6),
            headers=researcher.headers,
        )
        assert response.status_code in (200, 201)

        def finished() -> bool:
            state = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()
            return state["progress"]["tasks_by_status"] == {"done": 12}

        _wait_until(finished, 30, "the in-process worker")
        items = client.get(
            f"/api/v1/jobs/{job['id']}/annotations?annotator=openai_label",
            headers=researcher.headers,
        ).json()["items"]
    assert [a["preference"] for a in items] == [
        expected_preference(a["comparison_id"]) for a in items
    ]


def test_no_worker_runs_inside_the_server_when_switched_off(
    fake_llm, database_url, engine, researcher, make_job
):
    settings = Settings(database_url=database_url, inprocess_worker=False)
    app = create_app(settings, engine)
    with TestClient(app):
        assert not hasattr(app.state, "worker")


@pytest.mark.postgres_only
def test_several_processes_of_one_command_judge_every_task_once(
    shared_queue, fake_llm, researcher, make_job, post_comparisons, engine, database_url, db
):
    fake_llm.latency = 0.02
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(120))
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": database_url,
        "PREFARM_LOG_LEVEL": "warning",
        "PREFARM_WORKER_CONCURRENCY": "4",
    }

    done = subprocess.run(
        [*WORKER_COMMAND, "--processes", "2", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    assert "worker stopped; 120 tasks completed" in done.stdout
    assert _count(engine, Task.status == "done") == 120
    per_comparison = db.execute(
        select(Annotation.comparison_id, func.count()).group_by(Annotation.comparison_id)
    ).all()
    assert len(per_comparison) == 120 and {count for _, count in per_comparison} == {1}
    assert _count(engine, Task.leased_by.is_not(None)) == 0  # nothing left leased
    pids = db.execute(select(WorkerHeartbeat.pid)).scalars().all()
    assert len(set(pids)) == 2  # two processes worked, each with its own heartbeat
