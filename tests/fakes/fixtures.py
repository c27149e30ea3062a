"""Fixtures for tests that run simulated annotators against the fake provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.worker.runner import Worker, WorkerOptions, run_until_idle
from tests.fakes.llm_server import FakeLLM

FAKE_KEY = "sk-fake-0123456789-never-stored"


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """The fake provider, with the SDKs' base URLs and keys pointed at it."""
    fake = FakeLLM()
    url = fake.start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    yield fake
    fake.stop()


@pytest.fixture
def run_worker(engine: Engine) -> Callable[..., Worker]:
    """Run one in-test worker until nothing is left to claim."""

    def run(**overrides: Any) -> Worker:
        options = {
            "concurrency": 16,
            "claim_batch": 50,
            "lease_seconds": 30,
            "poll_seconds": 0.05,
            "retry_base_seconds": 0.0,
            "shutdown_grace_seconds": 5,
            **overrides,
        }
        return run_until_idle(engine, WorkerOptions(**options))

    return run


def marked_pairs(count: int, *, prefix: str = "q") -> list[dict[str, Any]]:
    """Comparisons whose better output carries the fake judge's marker: output_2 for even
    numbers, output_1 for odd ones. Lengths are equal so only the marker decides."""
    rows = []
    for i in range(count):
        good, bad = f"Answer {i:03d} [better]", f"Answer {i:03d} [worse!]"
        first, second = (bad, good) if i % 2 == 0 else (good, bad)
        rows.append(
            {
                "id": f"{prefix}{i}",
                "instruction": f"Question number {i}?",
                "output_1": first,
                "output_2": second,
                "generator_1": "model-x",
                "generator_2": "model-y",
            }
        )
    return rows


def expected_preference(external_id: str) -> float:
    return 2.0 if int(external_id.lstrip("qrst")) % 2 == 0 else 1.0


@pytest.fixture
def post_comparisons(client: TestClient) -> Callable[..., dict[str, Any]]:
    def post(account: Any, job_id: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        response = client.post(
            f"/api/v1/jobs/{job_id}/comparisons", json=rows, headers=account.headers
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    return post


@pytest.fixture
def annotations_of(client: TestClient) -> Callable[..., list[dict[str, Any]]]:
    """A job's annotations as the API lists them."""

    def read(account: Any, job_id: int) -> list[dict[str, Any]]:
        response = client.get(
            f"/api/v1/jobs/{job_id}/annotations", params={"limit": 1000}, headers=account.headers
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    return read


@pytest.fixture
def job_state(client: TestClient) -> Callable[..., dict[str, Any]]:
    def read(account: Any, job_id: int) -> dict[str, Any]:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)
        assert response.status_code == 200, response.text
        return response.json()

    return read
