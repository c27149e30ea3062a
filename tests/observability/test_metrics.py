"""GET /metrics: requests by route and status, latency, queue depth, judgments, providers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Annotator, Comparison, Task
from app.observability.metrics import record_provider_call
from tests.observability.conftest import samples

JOB_ROUTE = ("route", "/api/v1/jobs/{job_id}")


def test_requests_are_counted_by_route_template_and_status(client, researcher, make_job, scrape):
    job = make_job(researcher)
    before = scrape()
    for _ in range(3):
        client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers)
    client.get("/api/v1/jobs/999999", headers=researcher.headers)
    after = scrape()

    def delta(name: str, *labels: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels)))
        return after.get(key, 0) - before.get(key, 0)

    get = ("method", "GET")
    assert delta("prefarm_http_requests_total", get, JOB_ROUTE, ("status", "200")) == 3
    assert delta("prefarm_http_requests_total", get, JOB_ROUTE, ("status", "404")) == 1
    assert delta("prefarm_http_request_duration_seconds_count", get, JOB_ROUTE) == 4
    # one series per route, not one per job id
    assert not any("999999" in str(labels) for _, labels in after)


def test_unknown_paths_share_one_label(client: TestClient, scrape) -> None:
    client.get("/no/such/page/12345")
    labels = [dict(labels) for name, labels in scrape() if name == "prefarm_http_requests_total"]
    assert {"method": "GET", "route": "unmatched", "status": "404"} in labels
    assert all("12345" not in label["route"] for label in labels)


def test_queue_depth_by_task_status(make_client, researcher, make_job, db: Session) -> None:
    client = make_client()
    job = make_job(researcher, routing={"policy": "human"})
    rows = [
        {"id": f"q{n}", "instruction": "Say hi", "output_1": f"hi {n}", "output_2": "hello"}
        for n in range(5)
    ]
    client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers)
    judge = Annotator(kind="simulated", name="metrics-test-judge", config={})
    db.add(judge)
    db.flush()
    comparisons = db.scalars(select(Comparison.id).where(Comparison.job_id == job["id"])).all()
    statuses = ["queued", "queued", "queued", "running", "failed"]
    db.add_all(
        Task(job_id=job["id"], comparison_id=c, annotator_id=judge.id, status=s)
        for c, s in zip(comparisons, statuses, strict=True)
    )
    db.commit()
    page = samples(client.get("/metrics").text)
    assert page[("prefarm_tasks", (("status", "queued"),))] == 3
    assert page[("prefarm_tasks", (("status", "running"),))] == 1
    assert page[("prefarm_tasks", (("status", "failed"),))] == 1
    assert page[("prefarm_tasks", (("status", "done"),))] == 0


def test_judgments_keep_rater_emails_and_imported_names_out(
    make_client, researcher, make_job
) -> None:
    client = make_client()
    job = make_job(researcher, routing={"policy": "human"})
    rows = [
        {"id": f"j{n}", "instruction": "Add 2+2", "output_1": "4", "output_2": f"{n}"}
        for n in range(3)
    ]
    client.post(f"/api/v1/jobs/{job['id']}/comparisons", json=rows, headers=researcher.headers)
    judgments = [
        {"comparison_id": f"j{n}", "annotator": "imported-gpt-judge", "preference": 1.0}
        for n in range(3)
    ] + [
        {
            "comparison_id": "j0",
            "annotator": f"rater{n}@example.org",
            "annotator_kind": "human",
            "label": "output_1",
        }
        for n in range(2)
    ]
    response = client.post(
        f"/api/v1/jobs/{job['id']}/annotations", json=judgments, headers=researcher.headers
    )
    assert response.status_code == 200, response.text
    text = client.get("/metrics").text
    page = samples(text)
    assert page[("prefarm_judgments", (("annotator", "imported"), ("kind", "simulated")))] == 3
    assert page[("prefarm_judgments", (("annotator", "humans"), ("kind", "human")))] == 2
    assert "example.org" not in text and "imported-gpt-judge" not in text


def test_provider_calls_are_recorded_through_the_hook(scrape) -> None:
    labels = (("model", "gpt-test-metrics"), ("provider", "openai"))
    before = scrape()
    record_provider_call(
        "openai", "gpt-test-metrics", 0.42, cost_usd=0.003, prompt_tokens=120, completion_tokens=8
    )
    record_provider_call("openai", "gpt-test-metrics", 1.5, ok=False)
    after = scrape()

    def delta(name: str, *extra: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels + extra)))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("prefarm_provider_requests_total", ("outcome", "ok")) == 1
    assert delta("prefarm_provider_requests_total", ("outcome", "error")) == 1
    assert delta("prefarm_provider_request_duration_seconds_count") == 2
    assert abs(delta("prefarm_provider_request_duration_seconds_sum") - 1.92) < 1e-9
    assert abs(delta("prefarm_provider_cost_usd_total") - 0.003) < 1e-12
    assert delta("prefarm_provider_tokens_total", ("kind", "prompt")) == 120
    assert delta("prefarm_provider_tokens_total", ("kind", "completion")) == 8


def test_metrics_are_plain_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE prefarm_http_requests_total counter" in response.text


def test_a_metrics_token_protects_the_page(make_client) -> None:
    client = make_client(metrics_token="scrape-secret")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
    assert "prefarm_tasks" in allowed.text


def test_registered_annotators_beyond_the_limit_share_one_series(
    make_client, researcher, make_job, engine
) -> None:
    from app.db.session import unit_of_work
    from app.observability.metrics import MAX_LABEL_VALUES

    client = make_client()
    job = make_job(researcher, routing={"policy": "human"})
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=[{"id": "x", "instruction": "i", "output_1": "a", "output_2": "b"}],
        headers=researcher.headers,
    )
    comparison_id = client.get(
        f"/api/v1/jobs/{job['id']}/comparisons", headers=researcher.headers
    ).json()["items"][0]["id"]
    from app.db.models import Annotation

    with unit_of_work(engine) as session:
        cid = session.scalar(select(Comparison.id).where(Comparison.external_id == comparison_id))
        for n in range(MAX_LABEL_VALUES + 5):
            judge = Annotator(kind="simulated", name=f"registered-{n:03d}", config={"n": n})
            session.add(judge)
            session.flush()
            session.add(
                Annotation(
                    job_id=job["id"], comparison_id=cid, annotator_id=judge.id, preference=1.0
                )
            )
    page = samples(client.get("/metrics").text)
    names = {dict(labels)["annotator"] for name, labels in page if name == "prefarm_judgments"}
    assert len(names) == MAX_LABEL_VALUES + 1 and "other" in names
    assert page[("prefarm_judgments", (("annotator", "other"), ("kind", "simulated")))] == 5


def test_provider_models_beyond_the_limit_share_one_series(scrape, monkeypatch) -> None:
    from app.observability import metrics

    monkeypatch.setattr(metrics, "_provider_models", metrics.BoundedLabel(limit=2))
    for n in range(5):
        record_provider_call("openai_compatible", f"flood-model-{n}", 0.01)
    counts = {
        dict(labels)["model"]: value
        for (name, labels), value in scrape().items()
        if name == "prefarm_provider_requests_total"
        and dict(labels)["provider"] == "openai_compatible"
    }
    assert counts["flood-model-0"] >= 1 and counts["flood-model-1"] >= 1
    assert not any(f"flood-model-{n}" in counts for n in (2, 3, 4))
    assert counts["other"] >= 3


def test_metrics_for_admins_only(make_client, make_account) -> None:
    client = make_client(metrics_admin_only=True)
    admin, researcher = make_account("admin"), make_account("researcher")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=researcher.headers).status_code == 403
    allowed = client.get("/metrics", headers=admin.headers)
    assert allowed.status_code == 200 and "prefarm_tasks" in allowed.text


def test_admin_only_metrics_still_take_the_scrape_token(make_client, make_account) -> None:
    client = make_client(metrics_admin_only=True, metrics_token="scrape-secret")
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    )
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
