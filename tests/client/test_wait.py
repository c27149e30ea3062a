"""Waiting until a job is judged, with progress reports (the in-process worker judges)."""

from __future__ import annotations

import pytest
from prefarm_client import PrefarmClient, Progress


def test_wait_returns_once_every_comparison_is_judged(judging_url, researcher, rows) -> None:
    reports: list[Progress] = []
    with PrefarmClient(judging_url, researcher.token) as prefarm:
        job_id = prefarm.create_job("judged", annotators=["longest"])["id"]
        prefarm.submit_comparisons(job_id, rows(30))
        job = prefarm.wait(job_id, timeout=60, poll_seconds=0.05, on_progress=reports.append)
        judgments = prefarm.annotations(job_id)
    assert job["progress"]["comparisons_by_status"] == {"done": 30}
    assert reports[-1] == Progress(done=30, total=30, job_status="done", annotations=30)
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    # `longest` prefers the wordy output_2 of every row
    assert {(a["annotator"], a["preference"]) for a in judgments} == {("longest", 2.0)}


def test_wait_gives_up_after_its_timeout(live_url, researcher, rows) -> None:
    reports: list[Progress] = []
    with PrefarmClient(live_url, researcher.token) as prefarm:  # no worker behind this one
        job_id = prefarm.create_job("stuck", annotators=["longest"])["id"]
        prefarm.submit_comparisons(job_id, rows(3))
        with pytest.raises(TimeoutError, match="0 of 3 comparisons judged"):
            prefarm.wait(job_id, timeout=0.3, poll_seconds=0.05, on_progress=reports.append)
    assert reports and all(r == Progress(0, 3, "active", 0) for r in reports)


def test_a_cancelled_job_ends_the_wait(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("cancelled", annotators=["longest"])["id"]
    prefarm.submit_comparisons(job_id, rows(3))
    prefarm.cancel_job(job_id)
    assert prefarm.wait(job_id, timeout=5)["status"] == "cancelled"
