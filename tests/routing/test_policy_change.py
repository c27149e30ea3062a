"""Changing a running job's routing applies to work not yet started and keeps every judgment."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Comparison, Task
from tests.api.conftest import comparison_row


def test_switching_to_human_moves_untouched_work_and_keeps_judgments(
    client: TestClient,
    researcher,
    make_job,
    db: Session,
) -> None:
    job = make_job(researcher, routing={"policy": "simulated"}, annotators=["longest"])
    url = f"/api/v1/jobs/{job['id']}"
    rows = [comparison_row(n) for n in range(10)]
    client.post(f"{url}/comparisons", json=rows, headers=researcher.headers)
    judged = [
        {"comparison_id": f"c{n}", "annotator": "elsewhere", "preference": 2.0} for n in range(3)
    ]
    client.post(f"{url}/annotations", json=judged, headers=researcher.headers)

    response = client.patch(url, json={"routing": {"policy": "human"}}, headers=researcher.headers)
    assert response.status_code == 200
    assert response.json()["routing"] == {"policy": "human"}

    routes = dict(db.execute(select(Comparison.external_id, Comparison.route)).all())
    assert {routes[f"c{n}"] for n in range(3)} == {"simulated"}
    assert {routes[f"c{n}"] for n in range(3, 10)} == {"human"}
    tasked = set(
        db.scalars(select(Comparison.external_id).join(Task, Task.comparison_id == Comparison.id))
    )
    assert tasked == {f"c{n}" for n in range(3)}
    assert db.scalar(select(func.count()).select_from(Annotation)) == 3


def test_switching_back_to_simulated_plans_tasks_again(
    client: TestClient,
    researcher,
    make_job,
    db: Session,
) -> None:
    job = make_job(researcher, routing={"policy": "human"}, annotators=["longest"])
    url = f"/api/v1/jobs/{job['id']}"
    client.post(
        f"{url}/comparisons", json=[comparison_row(n) for n in range(5)], headers=researcher.headers
    )
    assert db.scalar(select(func.count()).select_from(Task)) == 0
    client.patch(url, json={"routing": {"policy": "simulated"}}, headers=researcher.headers)
    assert db.scalar(select(func.count()).select_from(Task)) == 5
    assert set(db.scalars(select(Comparison.route))) == {"simulated"}
