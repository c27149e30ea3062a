"""`prefarm demo --no-serve` sets up a working demo on its own SQLite file, and can run again.

It runs twice here: first plainly, then again with an OpenAI key and base URL pointing at the
fake provider, which adds a job judged by an LLM."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.accounts.secrets import verify_password
from app.accounts.service import user_for_token
from app.db.engine import make_engine
from app.db.models import Annotation, Annotator, Comparison, Instruction, Job, RaterJob, User
from tests.fakes.llm_server import FakeLLM


def _run_demo(directory: Path, **extra_env: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFARM_", "OPENAI_", "ANTHROPIC_"))
    }
    env.update(extra_env)
    done = subprocess.run(
        [sys.executable, "-m", "prefarm_client", "demo", "--no-serve"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+\w+\s+(\S+@example\.org)\s+password (\S+)$", output, re.M))


def _token(output: str) -> str:
    match = re.search(r"^Researcher API token: (\S+)$", output, re.M)
    assert match, output
    return match.group(1)


@dataclass
class DemoRuns:
    first: str
    second: str
    engine: Engine
    llm_requests: int


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRuns]:
    directory = tmp_path_factory.mktemp("demo")
    first = _run_demo(directory)
    fake = FakeLLM()
    url = fake.start()
    try:
        second = _run_demo(directory, OPENAI_API_KEY="sk-demo-test", OPENAI_BASE_URL=f"{url}/v1")
    finally:
        fake.stop()
    engine = make_engine(f"sqlite:///{directory / 'prefarm-demo.db'}")
    yield DemoRuns(first, second, engine, len(fake.requests))
    engine.dispose()


def test_it_makes_an_admin_a_researcher_and_two_raters(demo_runs) -> None:
    second, engine = demo_runs.second, demo_runs.engine
    with Session(engine) as session:
        roles = dict(session.execute(select(User.email, User.role)).all())
        hashes = dict(session.execute(select(User.email, User.password_hash)).all())
    assert sorted(roles.values()) == ["admin", "rater", "rater", "researcher"]
    printed = _passwords(second)
    assert set(printed) == set(roles)
    assert all(verify_password(hashes[email], password) for email, password in printed.items())


def test_the_printed_token_is_the_researchers(demo_runs) -> None:
    first, second, engine = demo_runs.first, demo_runs.second, demo_runs.engine
    with Session(engine) as session:
        user = user_for_token(session, _token(second))
        assert user is not None and user.role == "researcher"
        assert user_for_token(session, _token(first)) is None  # a re-run replaces the token


def test_the_baseline_judged_the_sample_job(demo_runs) -> None:
    second, engine = demo_runs.second, demo_runs.engine
    with Session(engine) as session:
        job = session.scalar(
            select(Job).where(Job.annotators == ["longest"]).order_by(Job.id).limit(1)
        )
        assert job is not None
        statuses = session.scalars(select(Comparison.status).where(Comparison.job_id == job.id))
        judges = session.execute(
            select(Annotator.name, func.count())
            .join(Annotation, Annotation.annotator_id == Annotator.id)
            .where(Annotation.job_id == job.id)
            .group_by(Annotator.name)
        ).all()
        assert list(statuses) == ["done"] * 40
    assert judges == [("longest", 40)]
    assert "40 of 40 comparisons judged" in second


def test_raters_have_a_human_job_to_rate(demo_runs) -> None:
    second, engine = demo_runs.second, demo_runs.engine
    with Session(engine) as session:
        job = session.scalar(select(Job).where(Job.routing["policy"].as_string() == "human"))
        assert job is not None
        routes = session.scalars(select(Comparison.route).where(Comparison.job_id == job.id))
        raters = session.scalars(
            select(User.email)
            .join(RaterJob, RaterJob.user_id == User.id)
            .where(RaterJob.job_id == job.id)
        )
        assert list(routes) == ["human"] * 12
        assert sorted(raters) == ["rater1@example.org", "rater2@example.org"]
    assert "/rate" in second and "/docs" in second


def test_a_third_job_has_conversations_for_raters_and_the_baseline(demo_runs) -> None:
    with Session(demo_runs.engine) as session:
        job = session.scalar(select(Job).where(Job.name.contains("conversations")))
        assert job is not None
        prompts = session.scalars(
            select(Instruction.messages)
            .join(Comparison, Comparison.instruction_id == Instruction.id)
            .where(Comparison.job_id == job.id)
        ).all()
        routes = session.scalars(select(Comparison.route).where(Comparison.job_id == job.id))
        raters = session.scalars(select(RaterJob.user_id).where(RaterJob.job_id == job.id))
        assert len(prompts) == 12 and all(p and p[-1]["role"] == "user" for p in prompts)
        assert set(routes) == {"both"}
        assert len(list(raters)) == 2
    assert f"Job {job.id}: Demo: conversations" in demo_runs.second


def test_running_it_again_reuses_accounts_and_jobs(demo_runs: DemoRuns) -> None:
    with Session(demo_runs.engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 4
        sizes = session.execute(
            select(Job.name, func.count(Comparison.id))
            .join(Comparison, Comparison.job_id == Job.id)
            .group_by(Job.id, Job.name)
            .order_by(Job.id)
        ).all()
    assert [count for _, count in sizes] == [40, 12, 12, 40]  # the fourth is the LLM's


def test_with_a_provider_key_an_llm_judges_a_third_job(demo_runs: DemoRuns) -> None:
    with Session(demo_runs.engine) as session:
        job = session.scalar(select(Job).where(Job.annotators == ["openai_json"]))
        assert job is not None
        preferences = session.scalars(
            select(Annotation.preference).where(Annotation.job_id == job.id)
        ).all()
    assert len(preferences) == 40 and set(preferences) <= {1.0, 2.0}
    assert demo_runs.llm_requests == 40
    assert 0 < job.spent_usd < 1.0
    assert f"Job {job.id}: Demo: the same pairs judged by openai_json" in demo_runs.second
    assert demo_runs.second.count("40 of 40 comparisons judged") == 2
    assert "openai_json" not in demo_runs.first


def test_it_prints_the_environment_that_reuses_its_database(demo_runs, tmp_path) -> None:
    """`prefarm tokens create` after the demo finds the demo's accounts with the printed line."""
    line = re.search(r"^\s+export (PREFARM_DATABASE_URL=\S+)$", demo_runs.second, re.M)
    assert line, demo_runs.second
    name, url = line.group(1).split("=", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFARM_")}
    made = subprocess.run(
        [sys.executable, "-m", "prefarm_client", "tokens", "create", "--email",
         "researcher@example.org"],
        cwd=tmp_path,  # any other folder
        env={**env, name: url},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"database: {url}" in made.stderr
    with Session(demo_runs.engine) as session:
        assert user_for_token(session, made.stdout.strip()) is not None
    assert list(tmp_path.iterdir()) == []
