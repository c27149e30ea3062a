"""`prefarm worker` logs like `prefarm serve`: JSON lines (plain on a terminal or on request),
no start-up chatter from Alembic, no line per HTTP request from the SDKs' clients; each provider
call is a debug line, and info level gets summary lines with judgments/s, errors and spend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.fakes.fixtures import marked_pairs

CALLS = 20


@pytest.fixture
def judged_by_llm(researcher, make_job, post_comparisons) -> dict[str, Any]:
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(CALLS))
    return job


def worker_log_lines(database_url: str, **env: str) -> list[str]:
    """`prefarm worker --until-idle` in a subprocess (stderr is a pipe, not a terminal); its
    log lines (after the plain `database: …` line every operator command starts with)."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--until-idle", "--concurrency", "4"],
        env={**os.environ, "PREFARM_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stderr.splitlines()
    assert lines[0].startswith("database: "), lines[:1]
    return lines[1:]


def test_worker_logs_are_json_lines_with_a_summary_and_no_line_per_call(
    fake_llm, judged_by_llm, database_url
) -> None:
    lines = worker_log_lines(database_url)

    entries = [json.loads(line) for line in lines]
    assert len(entries) < CALLS / 2, lines
    assert {e["logger"] for e in entries} <= {"prefarm.worker", "prefarm.db"}
    summary = next(e["message"] for e in entries if "judgments in" in e["message"])
    assert f"{CALLS} judgments in" in summary
    assert "0 errors" in summary and "$" in summary
    assert len(fake_llm.requests) == CALLS


def test_at_debug_level_each_provider_call_is_one_line(
    fake_llm, judged_by_llm, database_url
) -> None:
    lines = worker_log_lines(database_url, PREFARM_LOG_LEVEL="debug")

    entries = [json.loads(line) for line in lines]
    calls = [e for e in entries if " call of openai_label" in e["message"]]
    assert len(calls) == CALLS
    assert not any(e["logger"].startswith(("httpx", "httpcore", "openai")) for e in entries)


def test_plain_lines_on_request(fake_llm, judged_by_llm, database_url) -> None:
    lines = worker_log_lines(database_url, PREFARM_LOG_FORMAT="text")

    assert lines
    assert not any(line.startswith("{") for line in lines)
    assert any("INFO prefarm.worker" in line and "judgments in" in line for line in lines)


def test_errors_are_counted_in_the_summary_not_logged_one_by_one(
    fake_llm, judged_by_llm, database_url
) -> None:
    fake_llm.fail_next(6, "500")

    lines = worker_log_lines(database_url, PREFARM_WORKER_RETRY_BASE_SECONDS="0")

    entries = [json.loads(line) for line in lines]
    assert not any(e["level"] == "warning" for e in entries)
    summary = next(e["message"] for e in entries if "judgments in" in e["message"])
    assert f"{CALLS} judgments in" in summary and "6 errors" in summary
