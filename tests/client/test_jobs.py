"""The client drives jobs over real HTTP."""

from __future__ import annotations

import pytest
from prefarm_client import PrefarmClient, PrefarmError


def test_create_job_sends_every_field(prefarm: PrefarmClient) -> None:
    job = prefarm.create_job(
        "eval",
        annotators=["longest"],
        routing="simulated",
        budget_usd=2.5,
        seed=7,
        reference_generator="gpt4",
    )
    stored = prefarm.get_job(job["id"])
    assert stored["name"] == "eval"
    assert stored["annotators"] == ["longest"]
    assert stored["routing"] == {"policy": "simulated"}
    assert (stored["budget_usd"], stored["seed"], stored["reference_generator"]) == (2.5, 7, "gpt4")


def test_same_idempotency_key_gives_the_same_job(prefarm: PrefarmClient) -> None:
    first = prefarm.create_job("once", idempotency_key="nightly-2026-11-28")
    again = prefarm.create_job("once", idempotency_key="nightly-2026-11-28")
    assert again["id"] == first["id"]
    assert [job["id"] for job in prefarm.list_jobs()] == [first["id"]]


def test_list_jobs_follows_every_page(prefarm: PrefarmClient) -> None:
    created = [prefarm.create_job(f"job {n}")["id"] for n in range(5)]
    assert [job["id"] for job in prefarm.iter_jobs(page_size=2)] == created


def test_pause_resume_and_cancel(prefarm: PrefarmClient) -> None:
    job_id = prefarm.create_job("lifecycle")["id"]
    assert prefarm.pause_job(job_id)["status"] == "paused"
    assert prefarm.resume_job(job_id)["status"] == "active"
    assert prefarm.cancel_job(job_id)["status"] == "cancelled"
    assert prefarm.get_job(job_id)["status"] == "cancelled"


def test_api_errors_keep_their_code_and_status(prefarm: PrefarmClient) -> None:
    with pytest.raises(PrefarmError) as raised:
        prefarm.get_job(987654)
    assert (raised.value.status, raised.value.code) == (404, "not_found")


def test_a_wrong_token_is_unauthorized(live_url: str) -> None:
    with PrefarmClient(live_url, "not-a-token") as client, pytest.raises(PrefarmError) as raised:
        client.list_jobs()
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_another_researchers_job_is_not_found(prefarm: PrefarmClient, live_url, make_account):
    job_id = prefarm.create_job("mine")["id"]
    other = make_account("researcher")
    with PrefarmClient(live_url, other.token) as client, pytest.raises(PrefarmError) as raised:
        client.get_job(job_id)
    assert raised.value.status == 404


def test_token_and_url_come_from_the_environment(live_url, researcher, monkeypatch) -> None:
    monkeypatch.setenv("PREFARM_URL", live_url)
    monkeypatch.setenv("PREFARM_TOKEN", researcher.token)
    with PrefarmClient() as client:
        job = client.create_job("from env")
        assert job["owner"] == researcher.email


def test_an_unreachable_server_is_a_clear_error(unused_url: str) -> None:
    client = PrefarmClient(unused_url, "t", retries=1, backoff_seconds=0)
    with client, pytest.raises(PrefarmError) as raised:
        client.list_jobs()
    assert raised.value.code == "unreachable"
    assert unused_url in str(raised.value)
