"""Liveness, readiness and the API description."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_schema(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_is_503_when_the_schema_is_behind(tmp_path, settings) -> None:
    from app.db.engine import make_engine
    from app.server import create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["fix"] == "prefarm db upgrade"


def test_openapi_describes_every_v1_endpoint_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/jobs", "post"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{job_id}", "get"),
        ("/api/v1/jobs/{job_id}", "patch"),
        ("/api/v1/jobs/{job_id}/comparisons", "post"),
        ("/api/v1/jobs/{job_id}/comparisons", "get"),
        ("/api/v1/jobs/{job_id}/annotations", "post"),
        ("/api/v1/jobs/{job_id}/annotations", "get"),
    ]:
        operation = paths[path][method]
        assert operation["summary"]
    bulk = paths["/api/v1/jobs/{job_id}/comparisons"]["post"]["requestBody"]["content"]
    assert set(bulk) >= {"application/json", "application/x-ndjson"}
    assert bulk["application/json"]["example"][0]["instruction"]
    job_schema = spec["components"]["schemas"]["JobCreate"]
    assert job_schema["examples"][0]["name"]


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
