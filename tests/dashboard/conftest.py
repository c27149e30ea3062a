"""Fixtures of the dashboard tests: a job with imported human and simulated judgments."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import (  # the same browser setup as the rating app's tests
    browser,  # noqa: F401
    open_page,  # noqa: F401
    web_login,
)

PASSWORD = "dashboard researcher password"
GENERATORS = ("model-a", "model-b", "model-c")
# Imported human judgments (another tool's raters): `human:` names belong to rater accounts.
HUMANS = ("panel-ann", "panel-bo")
SIMULATED = ("judge-longest", "judge-first")


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"


def comparisons(count: int = 12) -> list[dict[str, Any]]:
    """Pairs among three generators; output_2 is the longer one in every other comparison."""
    rows = []
    for i in range(count):
        first, second = GENERATORS[i % 3], GENERATORS[(i + 1) % 3]
        long_second = i % 2 == 0
        rows.append(
            {
                "id": f"q{i}",
                "instruction": f"Explain **topic {i}** briefly.",
                "output_1": f"Short answer {i}." if long_second else f"A longer answer {i}. " * 4,
                "output_2": f"A longer answer {i}. " * 4 if long_second else f"Short answer {i}.",
                "generator_1": first,
                "generator_2": second,
            }
        )
    return rows


def judgments(count: int = 12) -> list[dict[str, Any]]:
    """Two humans and two simulated judges; they disagree on some comparisons by design."""
    rows = []
    for i in range(count):
        longer = 2.0 if i % 2 == 0 else 1.0
        votes = {
            HUMANS[0]: 1.0 if i % 3 else 2.0,
            HUMANS[1]: 1.0 if i % 4 else 1.5,
            SIMULATED[0]: longer,
            SIMULATED[1]: 1.0,
        }
        for annotator, preference in votes.items():
            rows.append(
                {
                    "comparison_id": f"q{i}",
                    "annotator": annotator,
                    "annotator_kind": "human" if annotator in HUMANS else "simulated",
                    "preference": preference,
                    "shown_swapped": i % 2 == 1,
                    "rationale": f"Reason of {annotator} on q{i}",
                }
            )
    return rows


def verdict(preference: float) -> str:
    return "1" if preference < 1.5 else "2" if preference > 1.5 else "tie"


def disagreeing_ids(rows: list[dict[str, Any]]) -> set[str]:
    verdicts: dict[str, set[str]] = {}
    for row in rows:
        verdicts.setdefault(row["comparison_id"], set()).add(verdict(row["preference"]))
    return {key for key, seen in verdicts.items() if len(seen) > 1}


@pytest.fixture
def judged_job(client: TestClient, make_job):
    """A job with comparisons and imported judgments posted through the API."""

    def build(account, count: int = 12, **fields: Any) -> dict[str, Any]:
        job = make_job(account, **fields)
        headers = {**account.headers, "Content-Type": "application/x-ndjson"}
        base = f"/api/v1/jobs/{job['id']}"
        posted = client.post(
            f"{base}/comparisons", content=ndjson(comparisons(count)), headers=headers
        )
        assert posted.status_code == 200, posted.text
        imported = client.post(
            f"{base}/annotations", content=ndjson(judgments(count)), headers=headers
        )
        assert imported.status_code == 200, imported.text
        return job

    return build


@pytest.fixture
def web_researcher(make_account):
    return make_account("researcher", password=PASSWORD)


@pytest.fixture
def logged_in(app):
    """A TestClient logged in through the login page as the given account."""
    clients: list[TestClient] = []

    def login(account) -> TestClient:
        session_client = TestClient(app)
        clients.append(session_client)
        response = web_login(session_client, account.email, PASSWORD)
        assert response.status_code == 303, response.text
        return session_client

    yield login
    for session_client in clients:
        session_client.close()
