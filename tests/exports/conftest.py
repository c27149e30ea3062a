"""A small judged job for the export tests, built through the real API, and a way to download."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

# datasets reads these when imported: never reach a hub, cache only under a temp folder.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="prefarm-hf-"))

from tests.stats.conftest import judged_job  # noqa: F401 (the fixture, shared)

N_INSTRUCTIONS = 12
JUDGES = ("judge-1", "judge-2", "human-1")


def preference_of(judge: str, k: int) -> float:
    """A fixed but varied pattern of judgments (k numbers the comparison)."""
    if judge == "judge-1":
        return 1.0 if k % 3 == 0 else 2.0
    if judge == "judge-2":
        return 1.5 if k % 5 == 0 else (1.0 if k % 3 == 0 else 1.8)
    return 2.0 if k % 2 else 1.0


def comparisons() -> list[dict[str, Any]]:
    rows = []
    for n in range(N_INSTRUCTIONS):
        for opponent in ("model-b", "model-c"):
            rows.append(
                {
                    "id": f"q{n}-{opponent}",
                    "instruction": f"Explain topic {n}.",
                    "input": "briefly" if n % 4 == 0 else "",
                    "output_1": f"model-a on topic {n}",
                    "output_2": f"{opponent} on topic {n}, at greater length",
                    "generator_1": "model-a",
                    "generator_2": opponent,
                }
            )
    return rows


def judgments() -> list[dict[str, Any]]:
    rows = []
    for k, comparison in enumerate(comparisons()):
        for judge in JUDGES:
            rows.append(
                {
                    "comparison_id": comparison["id"],
                    "annotator": judge,
                    "annotator_kind": "human" if judge.startswith("human") else "simulated",
                    "preference": preference_of(judge, k),
                    "shown_swapped": k % 2 == 1,
                }
            )
    return rows


def majority(k: int) -> int:
    """0 for no majority, else the side (1 or 2) most judges lean to."""
    sides = [1 if p < 1.5 else 2 if p > 1.5 else 0 for p in (preference_of(j, k) for j in JUDGES)]
    ones, twos, ties = sides.count(1), sides.count(2), sides.count(0)
    return 1 if ones > max(twos, ties) else 2 if twos > max(ones, ties) else 0


@pytest.fixture
def export_job(researcher, judged_job) -> dict[str, Any]:  # noqa: F811
    return judged_job(researcher, comparisons(), judgments(), name="exports", seed=5)


@pytest.fixture
def download(client: TestClient, researcher, export_job):
    def get(**params: Any):
        response = client.get(
            f"/api/v1/jobs/{export_job['id']}/export", params=params, headers=researcher.headers
        )
        return response

    return get
