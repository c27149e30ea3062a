"""Why something happened, on the dashboard: task errors and escalation reasons on the
comparison page, their counts on the job page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from app.db.models import Comparison
from app.worker.runner import WorkerOptions, run_until_idle
from tests.dashboard.conftest import PASSWORD

KEYLESS = {
    "name": "keyless_judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
    "api_key_env": "PREFARM_TEST_UNSET_KEY",
}


def failed_job(client: TestClient, engine: Engine, admin, owner) -> int:
    client.post("/api/v1/annotators", json=KEYLESS, headers=admin.headers)
    job = client.post(
        "/api/v1/jobs",
        json={"name": "why", "annotators": ["keyless_judge", "longest"]},
        headers=owner.headers,
    ).json()
    rows = [
        {"id": f"w{n}", "instruction": f"Q{n}?", "output_1": "a", "output_2": "bb"}
        for n in range(3)
    ]
    client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=owner.headers)
    run_until_idle(engine, WorkerOptions(poll_seconds=0.05, retry_base_seconds=0))
    return int(job["id"])


def test_the_job_page_counts_failures_by_error(
    client, engine, admin, make_account, logged_in
) -> None:
    researcher = make_account("researcher", password=PASSWORD)
    job_id = failed_job(client, engine, admin, researcher)
    page = logged_in(researcher).get(f"/dashboard/jobs/{job_id}").text
    why = page[page.index('id="why"') :]
    assert "3 simulated tasks failed" in why
    row = re.search(r"<tr><td>keyless_judge</td><td[^>]*>([^<]*)</td><td[^>]*>3</td></tr>", why)
    assert row and "PREFARM_TEST_UNSET_KEY" in row.group(1)
    assert all(f">w{n}</a>" in why for n in range(3))


def test_the_comparison_page_shows_task_errors_and_the_escalation_reason(
    client, engine, db, admin, make_account, logged_in
) -> None:
    researcher = make_account("researcher", password=PASSWORD)
    job_id = failed_job(client, engine, admin, researcher)
    comparison_id = db.scalar(select(Comparison.id).where(Comparison.external_id == "w1"))
    with engine.begin() as connection:  # as an active policy would have marked it
        connection.execute(
            update(Comparison).where(Comparison.id == comparison_id).values(escalation="uncertain")
        )
    page = logged_in(researcher).get(f"/dashboard/jobs/{job_id}/comparisons/{comparison_id}").text
    why = page[page.index('id="why"') : page.index("<h2>Judgments</h2>")]
    assert "Status <strong>failed</strong>" in why
    assert "sent to raters by the active policy: <strong>uncertain</strong>" in why
    assert "keyless_judge" in why and "PREFARM_TEST_UNSET_KEY" in why and "longest" not in why
    progress = logged_in(researcher).get(f"/dashboard/jobs/{job_id}/progress").text
    assert "Escalated to raters: 1 for uncertain." in progress
