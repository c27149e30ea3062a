"""Every request gets an id, returned in X-Request-ID and written on its log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.observability.logs import JsonFormatter, request_id_var


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("prefarm.access")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_a_request_without_an_id_gets_a_new_one(client: TestClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_the_callers_id_is_kept(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "trace-7f3a.01"})
    assert response.headers["X-Request-ID"] == "trace-7f3a.01"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, 'quote"inside', "new\\nline"])
def test_an_unsafe_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert response.headers["X-Request-ID"] != bad
    assert len(response.headers["X-Request-ID"]) == 32


def test_errors_carry_the_id_too(client: TestClient) -> None:
    response = client.get("/api/v1/jobs", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "abc-123"


def test_one_json_access_line_per_request(client, researcher, make_job, access_lines) -> None:
    job = make_job(researcher)
    client.get(f"/api/v1/jobs/{job['id']}", headers={**researcher.headers, "X-Request-ID": "r-1"})
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    entry = next(line for line in lines if line.get("request_id") == "r-1")
    assert entry["logger"] == "prefarm.access"
    assert entry["method"] == "GET"
    assert entry["path"] == f"/api/v1/jobs/{job['id']}"
    assert entry["route"] == "/api/v1/jobs/{job_id}"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    assert researcher.token not in access_lines.getvalue()


def test_log_lines_outside_a_request_have_no_id() -> None:
    record = logging.makeLogRecord({"name": "prefarm.worker", "msg": "claimed %d", "args": (5,)})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "claimed 5"
    assert "request_id" not in entry


def test_log_lines_inside_a_request_name_it() -> None:
    token = request_id_var.set("req-9")
    try:
        record = logging.makeLogRecord({"name": "x", "msg": "hi", "job_id": 4})
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert (entry["request_id"], entry["job_id"]) == ("req-9", 4)
