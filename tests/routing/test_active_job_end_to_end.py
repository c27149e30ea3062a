"""An `active` job from start to export: an LLM judge (through the fake provider) and the `random`
baseline judge everything, their disagreements go to a rater in the browser, every comparison
ends done, and the dataset exports."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Comparison, RaterJob
from app.db.session import unit_of_work
from tests.fakes.fixtures import marked_pairs

PASSWORD = "active routing rater password"


def test_active_job_runs_to_completion_and_exports(
    client: TestClient,
    researcher,
    make_job,
    make_account,
    engine,
    fake_llm,
    run_worker,
    request,
    db: Session,
) -> None:
    routing = {"policy": "active", "calibration_fraction": 0.0}
    job = make_job(
        researcher, routing=routing, annotators=["openai_label", "random"], human_overlap=1, seed=3
    )
    url = f"/api/v1/jobs/{job['id']}"
    client.post(
        f"{url}/comparisons",
        json=marked_pairs(12, prefix="c"),
        headers=researcher.headers,
    )

    run_worker()
    escalated = set(db.scalars(select(Comparison.external_id).where(Comparison.route == "both")))
    assert 0 < len(escalated) < 12
    progress = client.get(url, headers=researcher.headers).json()["progress"]
    assert progress["comparisons_by_status"] == {
        "done": 12 - len(escalated),
        "pending": len(escalated),
    }

    rater = make_account("rater", password=PASSWORD)
    with unit_of_work(engine) as session:
        session.add(RaterJob(user_id=rater.id, job_id=job["id"]))
    # The browser starts only now: Playwright's sync API runs an event loop of its own.
    page = request.getfixturevalue("open_page")()
    page.goto("/login")
    page.fill("#email", rater.email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"/rate/{job['id']}")
    rated = 0
    while page.locator("input[name=assignment_id]").count():
        page.keyboard.press("1")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        rated += 1
        assert rated <= len(escalated), "the rater was served a comparison not escalated"
    assert rated == len(escalated)

    progress = client.get(url, headers=researcher.headers).json()["progress"]
    assert progress["comparisons_by_status"] == {"done": 12}
    annotations = client.get(
        f"{url}/export", params={"format": "annotations"}, headers=researcher.headers
    )
    lines = [orjson.loads(line) for line in annotations.text.splitlines() if line]
    human = [line for line in lines if line["annotator_kind"] == "human"]
    assert len(lines) == 24 + len(escalated)
    simulated = {line["annotator"] for line in lines if line["annotator_kind"] == "simulated"}
    assert simulated == {"openai_label", "random"}
    assert {line["comparison_id"] for line in human} == escalated
    pairs = client.get(
        f"{url}/export",
        params={"format": "alpaca_farm", "ties": "drop"},
        headers=researcher.headers,
    )
    assert pairs.status_code == 200
    exported = [orjson.loads(line) for line in pairs.text.splitlines() if line]
    assert exported and all(row["preference"] in (1, 2) for row in exported)
    assert {row["comparison_id"] for row in exported} <= {f"c{n}" for n in range(12)}
