"""Cache, budget, retries and failures, through the fake provider."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.db.models import Task
from tests.fakes.fixtures import FAKE_KEY, expected_preference, marked_pairs


def test_identical_requests_are_served_from_the_cache_across_jobs(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, job_state
):
    first = make_job(researcher, annotators=["openai_label"], seed=9)
    post_comparisons(researcher, first["id"], marked_pairs(6))
    run_worker()
    paid_requests = len(fake_llm.requests)

    second = make_job(researcher, annotators=["openai_label"], seed=9)
    post_comparisons(researcher, second["id"], marked_pairs(6))
    run_worker()

    assert len(fake_llm.requests) == paid_requests == 6
    cached = annotations_of(researcher, second["id"])
    assert len(cached) == 6
    assert all(a["cost_usd"] == 0 and a["metadata"]["cached"] for a in cached)
    assert [a["preference"] for a in cached] == [
        expected_preference(a["comparison_id"]) for a in cached
    ]
    assert job_state(researcher, second["id"])["spent_usd"] == 0
    assert job_state(researcher, first["id"])["spent_usd"] > 0


def test_cost_tokens_and_latency_are_recorded(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, job_state
):
    job = make_job(researcher, annotators=["anthropic_label"])
    post_comparisons(researcher, job["id"], marked_pairs(3))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    for a in annotations:
        # anthropic_label: $1 / $5 per million input / output tokens.
        expected = (a["prompt_tokens"] * 1.0 + a["completion_tokens"] * 5.0) / 1e6
        assert a["prompt_tokens"] > 0 and a["completion_tokens"] > 0
        assert abs(a["cost_usd"] - expected) < 1e-12
        assert a["latency_ms"] > 0
    spent = job_state(researcher, job["id"])["spent_usd"]
    assert abs(spent - sum(a["cost_usd"] for a in annotations)) < 1e-12


def test_the_budget_stops_dispatch_and_raising_it_resumes(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, annotations_of, job_state
):
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(10))
    # Learn the price of one call from a first paid call with a tiny budget.
    client.patch(f"/api/v1/jobs/{job['id']}", json={"budget_usd": 1e-9}, headers=researcher.headers)
    run_worker(concurrency=1)
    state = job_state(researcher, job["id"])
    assert state["status"] == "budget_exhausted"
    assert len(annotations_of(researcher, job["id"])) == 1
    one_call = state["spent_usd"]

    client.patch(
        f"/api/v1/jobs/{job['id']}", json={"budget_usd": 3.5 * one_call}, headers=researcher.headers
    )
    run_worker(concurrency=1)

    state = job_state(researcher, job["id"])
    assert state["status"] == "budget_exhausted"
    assert len(annotations_of(researcher, job["id"])) == 4
    assert state["progress"]["tasks_by_status"] == {"done": 4, "queued": 6}
    assert len(fake_llm.requests) == 4

    client.patch(f"/api/v1/jobs/{job['id']}", json={"budget_usd": 1.0}, headers=researcher.headers)
    run_worker()
    state = job_state(researcher, job["id"])
    assert state["status"] == "done"
    assert state["progress"]["tasks_by_status"] == {"done": 10}


def test_a_paused_job_is_not_dispatched(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, job_state
):
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(3))
    client.patch(f"/api/v1/jobs/{job['id']}", json={"status": "paused"}, headers=researcher.headers)

    run_worker()

    assert fake_llm.requests == []
    assert job_state(researcher, job["id"])["progress"]["tasks_by_status"] == {"queued": 3}


def test_rate_limits_and_server_errors_are_retried(
    fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of, db
):
    fake_llm.fail_next(1, "429", retry_after=0)
    fake_llm.fail_next(1, "500")
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(1))

    run_worker()

    assert fake_llm.statuses == {429: 1, 500: 1, 200: 1}
    annotations = annotations_of(researcher, job["id"])
    assert [a["preference"] for a in annotations] == [2.0]
    assert db.scalar(select(Task.attempts)) == 3


def test_a_refused_request_fails_at_once_with_the_providers_message(
    fake_llm, researcher, make_job, post_comparisons, run_worker, db
):
    fake_llm.fail_next(1, "401")
    job = make_job(researcher, annotators=["anthropic_label"])
    post_comparisons(researcher, job["id"], marked_pairs(1))

    run_worker()

    task = db.scalars(select(Task)).one()
    assert (task.status, task.attempts) == ("failed", 1)
    assert task.last_error == "HTTP 401: injected 401"
    assert len(fake_llm.requests) == 1


def test_retry_after_is_honoured(fake_llm, researcher, make_job, post_comparisons, run_worker, db):
    fake_llm.fail_next(1, "429", retry_after=30)
    job = make_job(researcher, annotators=["anthropic_label"])
    post_comparisons(researcher, job["id"], marked_pairs(1))
    before = datetime.now(UTC)

    run_worker()  # the task is not claimable again before its Retry-After has passed

    task = db.scalars(select(Task)).one()
    assert task.status == "queued"
    assert (task.not_before - before).total_seconds() >= 30
    assert "429" in task.last_error


def test_timeouts_are_retried(fake_llm, client, researcher, make_job, post_comparisons, run_worker):
    fake_llm.hang_seconds = 5
    fake_llm.fail_next(1, "timeout")
    config = {
        "name": "impatient_judge",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": "direct_choice",
        "parser": "label",
        "timeout_s": 0.5,
    }
    assert (
        client.post("/api/v1/annotators", json=config, headers=researcher.headers).status_code
        == 201
    )
    job = make_job(researcher, annotators=["impatient_judge"])
    post_comparisons(researcher, job["id"], marked_pairs(1))

    run_worker()

    progress = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()
    assert progress["progress"]["tasks_by_status"] == {"done": 1}
    assert len(fake_llm.requests) == 2


def test_persistent_errors_end_in_failed_with_the_reason(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, db
):
    fake_llm.fail_next(100, "500")
    job = make_job(researcher, annotators=["openai_json"])
    post_comparisons(researcher, job["id"], marked_pairs(2))

    run_worker()

    tasks = db.scalars(select(Task)).all()
    assert [t.status for t in tasks] == ["failed", "failed"]
    assert all(t.attempts == 5 and "HTTP 500" in t.last_error for t in tasks)
    comparisons = client.get(
        f"/api/v1/jobs/{job['id']}/comparisons", headers=researcher.headers
    ).json()["items"]
    assert {c["status"] for c in comparisons} == {"failed"}


def test_failed_tasks_can_be_retried_through_the_api(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    fake_llm.fail_next(10, "500")
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(2))
    run_worker()

    response = client.post(
        f"/api/v1/jobs/{job['id']}/tasks/retry", json={"failed": True}, headers=researcher.headers
    )
    assert response.json() == {"requeued_failed": 2, "requeued_unparsed": 0}
    run_worker()

    assert len(annotations_of(researcher, job["id"])) == 2


def test_unparseable_answers_are_kept_raw_and_retryable(
    fake_llm, client, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    fake_llm.script = lambda prompt: "Both responses have merit; I cannot choose."
    job = make_job(researcher, annotators=["openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(3))
    run_worker()

    unparsed = annotations_of(researcher, job["id"])
    assert len(unparsed) == 3
    assert all(a["preference"] is None and a["parse_error"] for a in unparsed)
    raw = client.get(f"/api/v1/jobs/{job['id']}/annotations", headers=researcher.headers)
    assert raw.status_code == 200

    fake_llm.script = None
    response = client.post(
        f"/api/v1/jobs/{job['id']}/tasks/retry", json={"unparsed": True}, headers=researcher.headers
    )
    assert response.json() == {"requeued_failed": 0, "requeued_unparsed": 3}
    run_worker()

    parsed = annotations_of(researcher, job["id"])
    assert [a["preference"] for a in parsed] == [
        expected_preference(a["comparison_id"]) for a in parsed
    ]
    assert len(fake_llm.requests) == 6  # unparsed answers were not cached


def test_the_retry_endpoint_is_limited_to_the_jobs_owner(
    client, researcher, make_account, make_job
):
    job = make_job(researcher)
    other = make_account("researcher")
    response = client.post(f"/api/v1/jobs/{job['id']}/tasks/retry", json={}, headers=other.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_missing_api_key_fails_the_task_and_no_key_is_stored(
    fake_llm, researcher, make_job, post_comparisons, run_worker, db, monkeypatch, engine
):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    job = make_job(researcher, annotators=["anthropic_label", "openai_label"])
    post_comparisons(researcher, job["id"], marked_pairs(1))

    run_worker()

    errors = dict(db.execute(select(Task.status, Task.last_error)).all())
    assert errors["failed"] == "ANTHROPIC_API_KEY is not set in the environment"
    with engine.connect() as connection:
        for table in ("annotations", "tasks", "annotators", "llm_cache", "jobs"):
            dump = str(connection.exec_driver_sql(f"SELECT * FROM {table}").all())
            assert FAKE_KEY not in dump
