"""Fixtures of the observability tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from app.config import Settings
from app.server import create_app


@pytest.fixture
def make_client(database_url: str, engine: Engine) -> Iterator[Callable[..., TestClient]]:
    """A TestClient of the real app with some settings changed (metrics never cached)."""
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = Settings(database_url=database_url, metrics_cache_seconds=0, **overrides)
        client = TestClient(create_app(settings, engine))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def scrape(client: TestClient) -> Callable[..., dict[tuple[str, tuple], float]]:
    return lambda test_client=None: samples((test_client or client).get("/metrics").text)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
