"""A job's routing policy decides, at ingest, which queues each comparison enters, and a
comparison is done only when every queue it is in has finished with it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Assignment, Comparison, Task
from app.routing.completion import settle_comparisons
from tests.api.conftest import comparison_row


def _post(client: TestClient, account, job: dict, count: int) -> None:
    rows = [comparison_row(n) for n in range(count)]
    response = client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=account.headers
    )
    assert response.status_code == 200, response.text


def test_mixed_job_routes_by_its_fractions_and_plans_tasks_for_simulated_and_both(
    client: TestClient,
    researcher,
    make_job,
    db: Session,
) -> None:
    routing = {"policy": "mixed", "human_fraction": 0.4, "calibration_fraction": 0.2}
    job = make_job(researcher, routing=routing, annotators=["longest"], seed=5)
    _post(client, researcher, job, 300)
    routes = dict(db.execute(select(Comparison.id, Comparison.route)).all())
    counts = Counter(routes.values())
    assert set(counts) == {"human", "simulated", "both"}
    assert 30 <= counts["both"] <= 90 and 80 <= counts["human"] <= 160
    tasked = set(db.scalars(select(Task.comparison_id)))
    assert tasked == {cid for cid, route in routes.items() if route in ("simulated", "both")}


def test_the_same_seed_routes_the_same_comparisons_in_two_jobs(
    client: TestClient,
    researcher,
    make_job,
    db: Session,
) -> None:
    routing = {"policy": "mixed", "human_fraction": 0.5}
    jobs = [make_job(researcher, routing=routing, seed=9) for _ in range(2)]
    for job in jobs:
        _post(client, researcher, job, 50)
    by_job = [
        list(
            db.scalars(
                select(Comparison.route)
                .where(Comparison.job_id == job["id"])
                .order_by(Comparison.id)
            )
        )
        for job in jobs
    ]
    assert by_job[0] == by_job[1]


def test_human_comparison_is_done_after_k_submitted_judgments(
    client: TestClient,
    researcher,
    make_job,
    make_account,
    db: Session,
) -> None:
    job = make_job(researcher, routing={"policy": "human"}, human_overlap=2)
    _post(client, researcher, job, 1)
    comparison_id = db.scalar(select(Comparison.id))
    raters = [make_account("rater") for _ in range(2)]
    expires = datetime.now(UTC) + timedelta(minutes=5)
    for number, rater in enumerate(raters):
        db.add(
            Assignment(
                job_id=job["id"],
                comparison_id=comparison_id,
                user_id=rater.id,
                status="submitted",
                expires_at=expires,
            )
        )
        db.flush()
        settle_comparisons(db, [comparison_id])
        db.expire_all()
        expected = "done" if number == 1 else "pending"
        assert db.scalar(select(Comparison.status)) == expected


def test_both_routed_comparison_waits_for_humans_after_its_tasks(
    client: TestClient,
    researcher,
    make_job,
    db: Session,
) -> None:
    job = make_job(
        researcher,
        routing={"policy": "active", "calibration_fraction": 1.0},
        annotators=["longest"],
    )
    _post(client, researcher, job, 1)
    comparison = db.scalar(select(Comparison))
    assert comparison is not None and comparison.route == "both"
    for task in db.scalars(select(Task)):
        task.status = "done"
    db.flush()
    settle_comparisons(db, [comparison.id])
    db.expire_all()
    assert db.scalar(select(Comparison.status)) == "pending"
