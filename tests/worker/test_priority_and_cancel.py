"""A job's priority (set by its owner within a limit) and what cancelling does to its tasks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.db.models import Task
from app.worker import store
from app.worker.store import Outcome
from tests.fakes.fixtures import marked_pairs


@pytest.fixture
def queued_job(make_job, post_comparisons):
    def make(account: Any, size: int = 3, **fields: Any) -> dict[str, Any]:
        job = make_job(account, annotators=["longest"], **fields)
        post_comparisons(account, job["id"], marked_pairs(size))
        return job

    return make


def _patch(client, account, job_id: int, **changes: Any):
    return client.patch(f"/api/v1/jobs/{job_id}", json=changes, headers=account.headers)


def test_a_new_job_has_priority_1_and_its_owner_may_raise_it_to_the_limit(
    client, researcher, make_job
):
    job = make_job(researcher)
    assert job["priority"] == 1

    response = _patch(client, researcher, job["id"], priority=10)

    assert response.status_code == 200
    assert response.json()["priority"] == 10


def test_an_owner_cannot_go_above_the_limit(client, researcher, make_job):
    job = make_job(researcher, priority=4)

    response = _patch(client, researcher, job["id"], priority=11)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "priority_too_high"
    assert response.json()["error"]["details"] == {"max": 10}
    assert (
        client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()["priority"] == 4
    )


def test_creating_a_job_above_the_limit_is_refused_and_stores_nothing(client, researcher):
    response = client.post(
        "/api/v1/jobs", json={"name": "rush", "priority": 50}, headers=researcher.headers
    )

    assert response.status_code == 403
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"] == []


def test_an_admin_may_set_more_than_an_owner(client, researcher, admin, make_job):
    job = make_job(researcher)

    response = _patch(client, admin, job["id"], priority=200)

    assert response.status_code == 200
    assert response.json()["priority"] == 200


@pytest.mark.parametrize("priority", [0, 1001, 2.5, "3"])
def test_a_priority_outside_the_schema_is_a_validation_error(client, admin, make_job, priority):
    job = make_job(admin)

    response = _patch(client, admin, job["id"], priority=priority)

    assert response.status_code == 422


def test_cancelling_a_job_cancels_its_queued_tasks_and_they_leave_the_queue(
    client, researcher, queued_job, job_state
):
    job = queued_job(researcher, size=4)

    _patch(client, researcher, job["id"], status="cancelled")

    assert job_state(researcher, job["id"])["progress"]["tasks_by_status"] == {"cancelled": 4}
    metrics = client.get("/metrics").text
    assert 'prefarm_tasks{status="queued"} 0.0' in metrics


def test_a_task_given_back_after_its_job_was_cancelled_is_cancelled_not_requeued(
    client, researcher, queued_job, engine: Engine, db
):
    job = queued_job(researcher, size=2)
    held = store.claim(engine, "w1", 10, 60).tasks
    _patch(client, researcher, job["id"], status="cancelled")

    store.finish(engine, "w1", [Outcome(held[0], "release"), Outcome(held[1], "retry")], [])

    assert set(db.scalars(select(Task.status))) == {"cancelled"}


def test_a_lapsed_lease_of_a_cancelled_job_is_cancelled_when_reaped(
    client, researcher, queued_job, engine: Engine, db
):
    job = queued_job(researcher, size=2)
    store.claim(engine, "w1", 10, lease_seconds=-1)
    _patch(client, researcher, job["id"], status="cancelled")

    assert store.reap_expired(engine) == 2

    assert set(db.scalars(select(Task.status))) == {"cancelled"}


def test_running_tasks_of_a_cancelled_job_still_store_their_paid_answer(
    client, researcher, queued_job, engine: Engine, run_worker, annotations_of
):
    job = queued_job(researcher, size=2)
    held = store.claim(engine, "w1", 10, 60).tasks
    _patch(client, researcher, job["id"], status="cancelled")
    annotation = {
        "job_id": held[0].job_id,
        "comparison_id": held[0].comparison_id,
        "annotator_id": held[0].annotator_id,
        "preference": 2.0,
        "source": "worker",
    }

    store.finish(engine, "w1", [Outcome(held[0], "done", annotation=annotation)], [])

    assert [a["preference"] for a in annotations_of(researcher, job["id"])] == [2.0]


def test_the_tasks_of_a_cancelled_job_cannot_be_retried(client, researcher, queued_job):
    job = queued_job(researcher)
    _patch(client, researcher, job["id"], status="cancelled")

    response = client.post(
        f"/api/v1/jobs/{job['id']}/tasks/retry", json={}, headers=researcher.headers
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_cancelled"
