"""Helpers for the bulk endpoints."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Comparison, Instruction, Output


def comparison_row(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": f"c{n}",
        "instruction": f"Question number {n}?",
        "input": "",
        "output_1": f"Short answer {n}.",
        "output_2": f"A longer answer to question {n}, with details.",
        "generator_1": "model-a",
        "generator_2": "model-b",
        **overrides,
    }


def ndjson(rows: list[Any]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"


@pytest.fixture
def job(make_job, researcher):
    """A researcher's job (modules may define their own)."""
    return make_job(researcher)


@pytest.fixture
def url(job) -> str:
    """Where the job takes comparisons."""
    return f"/api/v1/jobs/{job['id']}/comparisons"


@pytest.fixture
def post_body(client: TestClient):
    def post(url: str, body: bytes, headers: dict[str, str], content_type: str):
        return client.post(url, content=body, headers={**headers, "Content-Type": content_type})

    return post


@pytest.fixture
def post_ndjson(post_body):
    def post(url: str, rows: list[Any], headers: dict[str, str]):
        return post_body(url, ndjson(rows), headers, "application/x-ndjson")

    return post


@pytest.fixture
def stored_counts(db: Session):
    def counts() -> dict[str, int]:
        db.expire_all()
        return {
            model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in (Instruction, Output, Comparison, Annotation)
        }

    return counts


from tests.web.conftest import browser, open_page  # noqa: E402, F401  (the browser setup)
