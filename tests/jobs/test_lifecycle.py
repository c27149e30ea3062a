"""A job is `done` once every comparison is settled, `active` again when work is added, with
`finished_at`; why something happened is in the comparisons API."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.jobs.conftest import pairs

# Its key variable is unset in the tests, so each task fails at once (no retry).
KEYLESS_JUDGE = {
    "name": "keyless_judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
    "api_key_env": "PREFARM_TEST_UNSET_KEY",
}


def test_a_judged_job_is_done_with_its_finish_time(
    client: TestClient, researcher, make_job, post_comparisons, run_worker, job_state
) -> None:
    job = make_job(researcher, annotators=["longest"])
    post_comparisons(researcher, job["id"], pairs(5))
    assert job_state(researcher, job["id"])["status"] == "active"
    run_worker()
    state = job_state(researcher, job["id"])
    assert state["status"] == "done"
    assert datetime.fromisoformat(state["finished_at"]) >= datetime.fromisoformat(
        state["created_at"]
    )
    assert state["progress"]["comparisons_by_status"] == {"done": 5}


def test_new_comparisons_make_a_done_job_active_again(
    client: TestClient, researcher, make_job, post_comparisons, run_worker, job_state
) -> None:
    job = make_job(researcher, annotators=["longest"])
    post_comparisons(researcher, job["id"], pairs(2))
    run_worker()
    post_comparisons(researcher, job["id"], pairs(3, prefix="more"))
    state = job_state(researcher, job["id"])
    assert (state["status"], state["finished_at"]) == ("active", None)
    run_worker()
    assert job_state(researcher, job["id"])["status"] == "done"


def test_reposting_known_comparisons_leaves_a_done_job_done(
    researcher, make_job, post_comparisons, run_worker, job_state
) -> None:
    job = make_job(researcher, annotators=["longest"])
    post_comparisons(researcher, job["id"], pairs(2))
    run_worker()
    finished = job_state(researcher, job["id"])["finished_at"]
    post_comparisons(researcher, job["id"], pairs(2))  # the same ids: nothing new
    state = job_state(researcher, job["id"])
    assert (state["status"], state["finished_at"]) == ("done", finished)


def test_an_empty_job_is_not_done(researcher, make_job, run_worker, job_state) -> None:
    job = make_job(researcher, annotators=["longest"])
    run_worker()
    assert job_state(researcher, job["id"])["status"] == "active"


def test_a_paused_job_stays_paused_and_is_done_when_resumed(
    client: TestClient, researcher, make_job, post_comparisons, job_state, db
) -> None:
    from app.db.models import Comparison
    from app.routing.completion import settle_comparisons

    job = make_job(researcher, routing={"policy": "human"})
    post_comparisons(researcher, job["id"], [{**pairs(1)[0], "gold_preference": 2}])
    client.patch(f"/api/v1/jobs/{job['id']}", json={"status": "paused"}, headers=researcher.headers)
    ids = list(db.scalars(Comparison.__table__.select().with_only_columns(Comparison.id)))
    settle_comparisons(db, ids)  # a gold comparison waits for nobody
    db.commit()
    assert job_state(researcher, job["id"])["status"] == "paused"
    resumed = client.patch(
        f"/api/v1/jobs/{job['id']}", json={"status": "active"}, headers=researcher.headers
    )
    assert resumed.json()["status"] == "done"


def test_failed_tasks_settle_the_job_and_their_errors_are_listed(
    client: TestClient, admin, make_job, post_comparisons, run_worker, job_state
) -> None:
    client.post("/api/v1/annotators", json=KEYLESS_JUDGE, headers=admin.headers)
    job = make_job(admin, annotators=["keyless_judge", "longest"])
    post_comparisons(admin, job["id"], pairs(3))
    run_worker()
    state = job_state(admin, job["id"])
    assert state["status"] == "done"
    assert state["progress"]["comparisons_by_status"] == {"failed": 3}
    listed = client.get(
        f"/api/v1/jobs/{job['id']}/comparisons",
        params={"has_error": "true"},
        headers=admin.headers,
    ).json()["items"]
    assert [c["id"] for c in listed] == ["p0", "p1", "p2"]
    errors = listed[0]["errors"]
    assert [(e["annotator"], e["status"]) for e in errors] == [("keyless_judge", "failed")]
    assert "PREFARM_TEST_UNSET_KEY" in errors[0]["error"]
    without = client.get(
        f"/api/v1/jobs/{job['id']}/comparisons",
        params={"has_error": "false"},
        headers=admin.headers,
    ).json()["items"]
    assert without == []


def test_retrying_failed_tasks_makes_the_job_active_again(
    client: TestClient, admin, make_job, post_comparisons, run_worker, job_state
) -> None:
    client.post("/api/v1/annotators", json=KEYLESS_JUDGE, headers=admin.headers)
    job = make_job(admin, annotators=["keyless_judge"])
    post_comparisons(admin, job["id"], pairs(2))
    run_worker()
    retried = client.post(f"/api/v1/jobs/{job['id']}/tasks/retry", headers=admin.headers)
    assert retried.json() == {"requeued_failed": 2, "requeued_unparsed": 0}
    state = job_state(admin, job["id"])
    assert (state["status"], state["finished_at"]) == ("active", None)
    assert state["progress"]["tasks_by_status"] == {"queued": 2}


def test_an_empty_job_can_be_deleted_and_a_used_one_cannot(
    client: TestClient, researcher, make_job, post_comparisons
) -> None:
    empty, used = make_job(researcher), make_job(researcher)
    post_comparisons(researcher, used["id"], pairs(1))
    assert (
        client.delete(f"/api/v1/jobs/{empty['id']}", headers=researcher.headers).status_code == 204
    )
    assert client.get(f"/api/v1/jobs/{empty['id']}", headers=researcher.headers).status_code == 404
    refused = client.delete(f"/api/v1/jobs/{used['id']}", headers=researcher.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "job_not_empty"
    assert client.get(f"/api/v1/jobs/{used['id']}", headers=researcher.headers).status_code == 200


def test_comparisons_are_filtered_by_escalation_reason(
    client: TestClient, researcher, make_job, post_comparisons, engine, job_state
) -> None:
    from sqlalchemy import update

    from app.db.models import Comparison

    job = make_job(researcher)
    post_comparisons(researcher, job["id"], pairs(3))
    with engine.begin() as connection:  # what an active policy records
        for external, reason in (("p0", "uncertain"), ("p2", "disagreement")):
            connection.execute(
                update(Comparison)
                .where(Comparison.external_id == external)
                .values(escalation=reason)
            )
    url = f"/api/v1/jobs/{job['id']}/comparisons"

    def ids(**params: str) -> list[tuple[str, str | None]]:
        items = client.get(url, params=params, headers=researcher.headers).json()["items"]
        return [(c["id"], c["escalation"]) for c in items]

    assert ids(escalation="uncertain") == [("p0", "uncertain")]
    assert ids(escalation="any") == [("p0", "uncertain"), ("p2", "disagreement")]
    assert job_state(researcher, job["id"])["progress"]["escalations_by_reason"] == {
        "disagreement": 1,
        "uncertain": 1,
    }
    refused = client.get(url, params={"escalation": "bored"}, headers=researcher.headers)
    assert refused.status_code == 422
