"""A job's webhook is called once when the job is done: signed with the job's secret, retried
with backoff, kept in the database across worker restarts, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import WebhookDelivery
from tests.jobs.conftest import pairs


def expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_hooked_job(client: TestClient, account, url: str) -> dict:
    response = client.post(
        "/api/v1/jobs",
        json={"name": "hooked", "annotators": ["longest"], "webhook_url": url},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_secret_is_shown_once(client: TestClient, researcher, receiver) -> None:
    job = make_hooked_job(client, researcher, receiver.url)
    assert job["webhook_secret"].startswith("whsec_") and job["webhook_url"] == receiver.url
    again = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()
    assert again["webhook_secret"] is None and again["webhook_url"] == receiver.url


def test_a_done_job_calls_its_webhook_once_signed(
    client: TestClient, researcher, receiver, post_comparisons, run_worker
) -> None:
    job = make_hooked_job(client, researcher, receiver.url)
    post_comparisons(researcher, job["id"], pairs(4))
    run_worker()
    run_worker()  # a second worker finds nothing more to send
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert call.path == "/hooks/prefarm"
    assert call.headers["x-prefarm-event"] == "job.done"
    assert call.headers["x-prefarm-signature"] == expected_signature(
        job["webhook_secret"], call.body
    )
    body = json.loads(call.body)
    assert call.headers["x-prefarm-delivery"] == body["delivery_id"]
    assert body["job"]["id"] == job["id"]
    assert (body["job"]["status"], body["job"]["comparisons"]) == ("done", 4)
    assert body["job"]["comparisons_by_status"] == {"done": 4}


def test_a_failed_call_is_retried_and_logged(
    client: TestClient, researcher, receiver, post_comparisons, run_worker, db: Session, caplog
) -> None:
    receiver.answers.extend([500, 503])
    job = make_hooked_job(client, researcher, receiver.url)
    post_comparisons(researcher, job["id"], pairs(1))
    with caplog.at_level("INFO", logger="prefarm.webhooks"):
        run_worker()
    assert len(receiver.calls) == 3
    assert {c.body for c in receiver.calls} == {receiver.calls[0].body}  # the same call again
    delivery = db.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("failed (attempt" in m and "HTTP 500" in m for m in messages) == 1
    assert any("delivered" in m for m in messages)


def test_a_call_survives_a_worker_restart(
    client: TestClient, researcher, receiver, post_comparisons, run_worker, db: Session, engine
) -> None:
    receiver.answers.append(503)
    job = make_hooked_job(client, researcher, receiver.url)
    post_comparisons(researcher, job["id"], pairs(2))
    run_worker(retry_base_seconds=3600)  # the first call fails; the next is due in an hour
    pending = db.scalar(select(WebhookDelivery))
    assert (pending.status, pending.attempts, pending.last_status_code) == ("pending", 1, 503)
    with engine.begin() as connection:  # the hour passes while no worker runs
        connection.execute(update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC)))
    run_worker()  # a new worker process sends it from the database
    assert [json.loads(c.body)["job"]["id"] for c in receiver.calls] == [job["id"]] * 2
    db.refresh(pending)
    assert (pending.status, pending.attempts) == ("delivered", 2)


def test_a_call_is_given_up_after_its_attempts(
    client: TestClient, researcher, receiver, post_comparisons, run_worker, db: Session
) -> None:
    url = receiver.url
    receiver.stop()  # nobody answers
    job = make_hooked_job(client, researcher, url)
    post_comparisons(researcher, job["id"], pairs(1))
    run_worker(max_attempts=3)
    delivery = db.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "ConnectError" in delivery.last_error


def test_a_webhook_is_not_sent_to_private_addresses_unless_allowed(
    client: TestClient, researcher, receiver, post_comparisons, run_worker, db: Session
) -> None:
    job = make_hooked_job(client, researcher, receiver.url)
    post_comparisons(researcher, job["id"], pairs(1))
    run_worker(allow_private=False, max_attempts=1)
    assert receiver.calls == []
    delivery = db.scalar(select(WebhookDelivery))
    assert delivery.status == "failed"
    assert "non-public address 127.0.0.1" in delivery.last_error


def test_a_webhook_url_must_be_http(client: TestClient, researcher) -> None:
    for url in ("ftp://example.org/x", "not a url", "http://"):
        response = client.post(
            "/api/v1/jobs", json={"name": "x", "webhook_url": url}, headers=researcher.headers
        )
        assert response.status_code == 422, url


def test_changing_the_webhook_gives_a_new_secret(client: TestClient, researcher, receiver) -> None:
    job = make_hooked_job(client, researcher, receiver.url)
    changed = client.patch(
        f"/api/v1/jobs/{job['id']}",
        json={"webhook_url": receiver.url + "?v=2"},
        headers=researcher.headers,
    ).json()
    assert changed["webhook_secret"] not in (None, job["webhook_secret"])
    removed = client.patch(
        f"/api/v1/jobs/{job['id']}", json={"webhook_url": None}, headers=researcher.headers
    ).json()
    assert (removed["webhook_url"], removed["webhook_secret"]) == (None, None)
