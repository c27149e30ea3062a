"""Statistics are computed once per job, parameters and judgments, within a time budget, and
large jobs are computed in the background while the last report is shown (issue 11.2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.session import unit_of_work
from app.stats.cache import StatisticsParams, claim_computation
from app.stats.data import Selection
from tests.stats.conftest import judgment, ndjson, pair


def stats(client: TestClient, account, job_id: int, **params):
    return client.get(f"/api/v1/jobs/{job_id}/stats", params=params, headers=account.headers)


def add_judgment(client: TestClient, account, job_id: int, annotator: str) -> None:
    response = client.post(
        f"/api/v1/jobs/{job_id}/annotations",
        content=ndjson([judgment("c1", annotator, 2.0)]),
        headers={**account.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text


def test_the_same_request_is_answered_from_the_cache_until_a_judgment_arrives(
    client: TestClient, researcher, judged_job
) -> None:
    job = judged_job(researcher, [pair(1), pair(2)], [judgment("c1", "judge", 2.0)])
    first = stats(client, researcher, job["id"]).json()
    again = stats(client, researcher, job["id"]).json()
    assert first["cache"]["state"] == "computed"
    assert again["cache"]["state"] == "fresh"
    assert again["cache"]["computed_at"] == first["cache"]["computed_at"]
    assert again["evaluators"] == first["evaluators"]
    add_judgment(client, researcher, job["id"], "judge-2")
    after = stats(client, researcher, job["id"]).json()
    assert after["cache"]["state"] == "computed"
    assert after["counts"]["judgments"] == 2


def test_other_parameters_are_cached_apart(client: TestClient, researcher, judged_job) -> None:
    job = judged_job(researcher, [pair(1)], [judgment("c1", "judge", 2.0)])
    assert stats(client, researcher, job["id"]).json()["cache"]["state"] == "computed"
    other = stats(client, researcher, job["id"], seed=7).json()
    assert other["cache"]["state"] == "computed" and other["seed"] == 7


def test_bootstrap_rounds_above_the_cap_are_a_422(client: TestClient, researcher, make_job) -> None:
    job = make_job(researcher)
    response = stats(client, researcher, job["id"], bootstrap=1001)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "bootstrap"


def test_one_computation_per_job_and_parameters_at_a_time(engine, researcher, make_job) -> None:
    job = make_job(researcher)
    params = StatisticsParams(Selection(), seed=1, reference_generator=None, bootstrap_rounds=10)
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        assert claim_computation(session, job["id"], params, now, stale_after=60)
    with unit_of_work(engine) as session:
        assert not claim_computation(session, job["id"], params, now, stale_after=60)
    later = datetime.fromtimestamp(now.timestamp() + 120, UTC)
    with unit_of_work(engine) as session:  # the first claimer died: its claim is taken over
        assert claim_computation(session, job["id"], params, later, stale_after=60)


class TestTimeBudget:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, inprocess_worker=False, stats_time_budget_seconds=1e-9
        )

    def test_the_bootstrap_stops_at_the_time_budget(
        self, client: TestClient, researcher, judged_job
    ) -> None:
        comparisons = [pair(n) for n in range(10)]
        judgments = [judgment(f"c{n}", "judge", 2.0 if n % 3 else 1.0) for n in range(10)]
        job = judged_job(researcher, comparisons, judgments)
        body = stats(client, researcher, job["id"], bootstrap=500).json()
        fit = body["ratings_fit"]
        assert fit["bootstrap_stopped_early"] and fit["bootstrap_rounds"] < 500
        assert [row["ci_low"] for row in body["ratings"]] == [None, None]
        assert all(row["rating"] is not None for row in body["ratings"])


class TestLargeJobs:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, inprocess_worker=False, stats_inline_max_judgments=1
        )

    @staticmethod
    def wait_for_background(app) -> None:
        deadline = time.monotonic() + 60
        while not app.state.statistics.idle():
            assert time.monotonic() < deadline, "the background computation never finished"
            time.sleep(0.05)

    def test_a_large_job_answers_202_then_the_report_computed_in_the_background(
        self, app, client: TestClient, researcher, judged_job
    ) -> None:
        judgments = [judgment("c1", "judge", 2.0), judgment("c2", "judge", 1.0)]
        job = judged_job(researcher, [pair(1), pair(2)], judgments)
        first = stats(client, researcher, job["id"])
        assert first.status_code == 202
        assert int(first.headers["Retry-After"]) > 0
        assert first.json()["cache"]["state"] == "computing"
        assert "evaluators" not in first.json()  # nothing computed yet
        self.wait_for_background(app)
        ready = stats(client, researcher, job["id"])
        assert ready.status_code == 200
        assert ready.json()["cache"]["state"] == "fresh"
        assert ready.json()["counts"]["judgments"] == 2

    def test_a_stale_report_is_shown_with_its_age_while_it_is_recomputed(
        self, app, client: TestClient, researcher, judged_job
    ) -> None:
        judgments = [judgment("c1", "judge", 2.0), judgment("c2", "judge", 1.0)]
        job = judged_job(researcher, [pair(1), pair(2)], judgments)
        stats(client, researcher, job["id"])
        self.wait_for_background(app)
        add_judgment(client, researcher, job["id"], "judge-2")
        stale = stats(client, researcher, job["id"])
        assert stale.status_code == 202
        body = stale.json()
        assert body["counts"]["judgments"] == 2  # the last report
        assert body["cache"]["stale"] and body["cache"]["age_seconds"] >= 0
        assert body["cache"]["judgments_now"] == 3
        self.wait_for_background(app)
        assert stats(client, researcher, job["id"]).json()["counts"]["judgments"] == 3
