"""Jobs: creation (idempotent), listing, reading with progress, pause / resume / cancel, access."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.secrets import display_prefix, new_api_token, token_sha256
from app.db.models import ApiToken, Job
from app.db.session import unit_of_work


def test_create_job_returns_it_with_defaults(client: TestClient, researcher) -> None:
    response = client.post("/api/v1/jobs", json={"name": "first"}, headers=researcher.headers)
    assert response.status_code == 201
    job = response.json()
    assert job["name"] == "first"
    assert job["owner"] == researcher.email
    assert job["status"] == "active"
    assert job["routing"] == {"policy": "simulated"}
    assert job["progress"]["comparisons"] == 0


def test_idempotency_key_replays_the_same_job(client: TestClient, researcher, db: Session) -> None:
    headers = {**researcher.headers, "Idempotency-Key": "run-42"}
    first = client.post("/api/v1/jobs", json={"name": "j", "seed": 3}, headers=headers)
    again = client.post("/api/v1/jobs", json={"name": "j", "seed": 3}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert db.scalar(select(func.count()).select_from(Job)) == 1


def test_idempotency_key_with_another_body_is_409(
    client: TestClient, researcher, db: Session
) -> None:
    headers = {**researcher.headers, "Idempotency-Key": "run-42"}
    client.post("/api/v1/jobs", json={"name": "j"}, headers=headers)
    response = client.post("/api/v1/jobs", json={"name": "other"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert db.scalar(select(func.count()).select_from(Job)) == 1


def test_same_idempotency_key_of_two_researchers_makes_two_jobs(
    client: TestClient, make_account
) -> None:
    alice, bob = make_account(), make_account()
    a = client.post(
        "/api/v1/jobs", json={"name": "j"}, headers={**alice.headers, "Idempotency-Key": "k"}
    )
    b = client.post(
        "/api/v1/jobs", json={"name": "j"}, headers={**bob.headers, "Idempotency-Key": "k"}
    )
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "j", "human_overlap": 0},
        {"name": "j", "budget_usd": -1},
        {"name": "j", "routing": {"policy": "telepathy"}},
        {"name": "j", "routing": {"policy": "mixed", "human_fraction": 1.5}},
        {"name": "j", "unknown_field": 1},
        {"name": "j", "annotators": "longest"},
        {"name": 5},
    ],
)
def test_invalid_job_is_422_and_stores_nothing(
    client: TestClient,
    researcher,
    db: Session,
    body: dict,
) -> None:
    response = client.post("/api/v1/jobs", json=body, headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]
    assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_researcher_lists_only_own_jobs_and_admin_all(
    client: TestClient,
    make_account,
    make_job,
    admin,
) -> None:
    alice, bob = make_account(), make_account()
    mine = make_job(alice, name="alice's")
    make_job(bob, name="bob's")
    listed = client.get("/api/v1/jobs", headers=alice.headers).json()["items"]
    assert [job["id"] for job in listed] == [mine["id"]]
    assert len(client.get("/api/v1/jobs", headers=admin.headers).json()["items"]) == 2


def test_job_list_is_paginated_by_cursor(client: TestClient, researcher, make_job) -> None:
    ids = [make_job(researcher, name=f"job {i}")["id"] for i in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/jobs", params=params, headers=researcher.headers).json()
        seen += [job["id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_another_researchers_job_is_not_found(client: TestClient, make_account, make_job) -> None:
    alice, bob = make_account(), make_account()
    job = make_job(alice)
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=bob.headers).status_code == 404
    response = client.patch(
        f"/api/v1/jobs/{job['id']}", json={"status": "paused"}, headers=bob.headers
    )
    assert response.status_code == 404
    assert (
        client.get(f"/api/v1/jobs/{job['id']}", headers=alice.headers).json()["status"] == "active"
    )


def test_admin_reads_any_job(client: TestClient, researcher, admin, make_job) -> None:
    job = make_job(researcher)
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=admin.headers).status_code == 200


def test_rater_has_no_api_access_to_jobs(client: TestClient, make_account, engine) -> None:
    rater = make_account("rater")
    token = new_api_token()  # raters cannot get one through the CLI; pretend one leaked in
    with unit_of_work(engine) as session:
        session.add(
            ApiToken(
                user_id=rater.id, token_sha256=token_sha256(token), prefix=display_prefix(token)
            )
        )
    response = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_pause_resume_and_cancel(client: TestClient, researcher, make_job) -> None:
    job = make_job(researcher)
    url = f"/api/v1/jobs/{job['id']}"
    assert (
        client.patch(url, json={"status": "paused"}, headers=researcher.headers).json()["status"]
        == "paused"
    )
    assert (
        client.patch(url, json={"status": "active"}, headers=researcher.headers).json()["status"]
        == "active"
    )
    assert (
        client.patch(url, json={"status": "cancelled"}, headers=researcher.headers).json()["status"]
        == "cancelled"
    )


def test_cancelled_job_cannot_be_resumed(client: TestClient, researcher, make_job) -> None:
    job = make_job(researcher)
    url = f"/api/v1/jobs/{job['id']}"
    client.patch(url, json={"status": "cancelled"}, headers=researcher.headers)
    response = client.patch(url, json={"status": "active"}, headers=researcher.headers)
    assert response.status_code == 409
    assert client.get(url, headers=researcher.headers).json()["status"] == "cancelled"


def test_unknown_status_is_422(client: TestClient, researcher, make_job) -> None:
    job = make_job(researcher)
    response = client.patch(
        f"/api/v1/jobs/{job['id']}", json={"status": "done"}, headers=researcher.headers
    )
    assert response.status_code == 422


def test_raising_the_budget_resumes_a_budget_exhausted_job(
    client: TestClient,
    researcher,
    make_job,
    engine,
) -> None:
    job = make_job(researcher, budget_usd=1.0)
    with unit_of_work(engine) as session:
        stored = session.get_one(Job, job["id"])
        stored.spent_usd, stored.status = 1.0, "budget_exhausted"
    url = f"/api/v1/jobs/{job['id']}"
    refused = client.patch(url, json={"status": "active"}, headers=researcher.headers)
    assert refused.status_code == 409
    raised = client.patch(url, json={"budget_usd": 5.0}, headers=researcher.headers)
    assert raised.json()["status"] == "active"
    assert raised.json()["budget_usd"] == 5.0
