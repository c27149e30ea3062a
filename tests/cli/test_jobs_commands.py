"""`prefarm jobs …` against a real server, configured by PREFARM_URL and PREFARM_TOKEN."""

from __future__ import annotations

import json

from prefarm_client import PrefarmClient


def test_jobs_create_prints_the_new_job(prefarm, live_url, researcher) -> None:
    result = prefarm("jobs", "create", "--name", "nightly", "-a", "longest", "--seed", "3")
    assert result.exit_code == 0, result.output
    job_id = int(result.output.split()[1].rstrip(":"))
    with PrefarmClient(live_url, researcher.token) as client:
        job = client.get_job(job_id)
    assert (job["name"], job["annotators"], job["seed"]) == ("nightly", ["longest"], 3)


def test_jobs_create_json_and_idempotency_key(prefarm) -> None:
    args = ("jobs", "create", "--name", "once", "--idempotency-key", "k-1", "--json")
    first, again = json.loads(prefarm(*args).output), json.loads(prefarm(*args).output)
    assert first["id"] == again["id"]
    assert first["routing"] == {"policy": "simulated"}


def test_jobs_list_shows_every_job(prefarm) -> None:
    for name in ("alpha run", "beta run"):
        prefarm("jobs", "create", "--name", name)
    table = prefarm("jobs", "list")
    assert table.exit_code == 0
    assert "alpha run" in table.output and "beta run" in table.output
    listed = json.loads(prefarm("jobs", "list", "--json").output)
    assert [job["name"] for job in listed] == ["alpha run", "beta run"]


def test_jobs_show_prints_progress(prefarm, pairs_file) -> None:
    prefarm("jobs", "submit", str(pairs_file(4)), "--name", "shown")
    job = json.loads(prefarm("jobs", "show", "1").output)
    assert job["name"] == "shown"
    assert job["progress"]["comparisons"] == 4


def test_pause_resume_cancel(prefarm) -> None:
    prefarm("jobs", "create", "--name", "x")
    assert prefarm("jobs", "pause", "1").output.strip() == "job 1: paused"
    assert prefarm("jobs", "resume", "1").output.strip() == "job 1: active"
    assert prefarm("jobs", "cancel", "1").output.strip() == "job 1: cancelled"


def test_an_unknown_job_is_a_clear_error(prefarm) -> None:
    result = prefarm("jobs", "show", "4242")
    assert result.exit_code == 1
    assert "job 4242 not found (not_found, HTTP 404)" in result.output


def test_without_a_token_the_cli_says_what_to_set(run_against, live_url) -> None:
    result = run_against(live_url, None)("jobs", "list")
    assert result.exit_code == 2
    assert "PREFARM_TOKEN" in result.output


def test_an_unreachable_server_is_reported(run_against, researcher) -> None:
    result = run_against("http://127.0.0.1:9", researcher.token)("jobs", "list")
    assert result.exit_code == 1
    assert "cannot reach prefarm at http://127.0.0.1:9" in result.output
