"""Jobs built through the real API for the statistics tests."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

REFERENCE = "gpt4_1106_preview"


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"


@pytest.fixture
def judged_job(client: TestClient, make_job):
    """A job with the given comparisons and imported judgments; returns the job."""

    def build(
        account, comparisons: list[dict[str, Any]], judgments: list[dict[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        job = make_job(account, **fields)
        headers = {**account.headers, "Content-Type": "application/x-ndjson"}
        base = f"/api/v1/jobs/{job['id']}"
        posted = client.post(f"{base}/comparisons", content=ndjson(comparisons), headers=headers)
        assert posted.status_code == 200, posted.text
        if judgments:
            imported = client.post(
                f"{base}/annotations", content=ndjson(judgments), headers=headers
            )
            assert imported.status_code == 200, imported.text
            assert imported.json()["created"] == len(judgments)
        return job

    return build


def pair(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"c{n}",
        "instruction": f"Question {n}?",
        "output_1": f"Answer {n}.",
        "output_2": f"Another answer to question {n}.",
        "generator_1": "model-a",
        "generator_2": "model-b",
        **fields,
    }


def judgment(comparison: str, annotator: str, preference: float, **fields: Any) -> dict[str, Any]:
    kind = "human" if annotator.startswith("human") else "simulated"
    return {
        "comparison_id": comparison,
        "annotator": annotator,
        "annotator_kind": kind,
        "preference": preference,
        **fields,
    }


@pytest.fixture
def alpaca_job(client: TestClient, researcher, judged_job, alpaca_outputs, alpaca_judgments):
    """AlpacaEval's 2,415 comparisons (reference as output_1) with its 4,830 real judgments."""
    return build_alpaca_job(researcher, judged_job, alpaca_outputs, alpaca_judgments)


def build_alpaca_job(
    researcher, judged_job, alpaca_outputs, alpaca_judgments, difficulty=None
) -> dict[str, Any]:
    """The AlpacaEval job; `difficulty(instruction number)` adds an imported difficulty table
    as each comparison's metadata.instruction_difficulty."""
    index = {
        text: n for n, text in enumerate(dict.fromkeys(o["instruction"] for o in alpaca_outputs))
    }
    reference = {
        o["instruction"]: o["output"] for o in alpaca_outputs if o["generator"] == REFERENCE
    }
    comparisons = [
        {
            "id": f"{index[o['instruction']]}:{o['generator']}",
            "instruction": o["instruction"],
            "output_1": reference[o["instruction"]],
            "output_2": o["output"],
            "generator_1": REFERENCE,
            "generator_2": o["generator"],
            **(
                {"metadata": {"instruction_difficulty": difficulty(index[o["instruction"]])}}
                if difficulty
                else {}
            ),
        }
        for o in alpaca_outputs
        if o["generator"] != REFERENCE
    ]
    judgments = [
        {
            "comparison_id": f"{index[j['instruction']]}:{j['generator_2']}",
            "annotator": j["annotator"],
            "preference": float(j["preference"]),
            "cost_usd": j["price_per_example"],
            "latency_ms": None if j["time_per_example"] is None else 1000 * j["time_per_example"],
        }
        for j in alpaca_judgments
    ]
    return judged_job(
        researcher, comparisons, judgments, name="AlpacaEval 2.0", reference_generator=REFERENCE
    )
