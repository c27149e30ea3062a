"""The researcher's first hour, on the real AlpacaEval data: post, re-post, import, read back."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

REFERENCE = "gpt4_1106_preview"


def comparison_id(instruction_index: int, generator: str) -> str:
    return f"{instruction_index}:{generator}"


def alpaca_comparisons(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every generator against the reference, output_1 = reference, as AlpacaEval lays them out."""
    index = {text: n for n, text in enumerate(dict.fromkeys(o["instruction"] for o in outputs))}
    reference = {o["instruction"]: o["output"] for o in outputs if o["generator"] == REFERENCE}
    return [
        {
            "id": comparison_id(index[o["instruction"]], o["generator"]),
            "instruction": o["instruction"],
            "output_1": reference[o["instruction"]],
            "output_2": o["output"],
            "generator_1": REFERENCE,
            "generator_2": o["generator"],
            "metadata": {"dataset": o["dataset"]},
        }
        for o in outputs
        if o["generator"] != REFERENCE
    ]


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows)


def read_all(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"after": cursor} if cursor else {})}
        page = client.get(url, params=params, headers=headers)
        assert page.status_code == 200
        items += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            return items


def test_researcher_posts_reposts_imports_and_reads_back(
    client: TestClient,
    researcher,
    make_job,
    alpaca_outputs,
    alpaca_judgments,
) -> None:
    job = make_job(researcher, name="AlpacaEval", reference_generator=REFERENCE)
    comparisons_url = f"/api/v1/jobs/{job['id']}/comparisons"
    ndjson_headers = {**researcher.headers, "Content-Type": "application/x-ndjson"}
    rows = alpaca_comparisons(alpaca_outputs)
    first_805 = [row for row in rows if row["generator_2"] == "alpaca-7b"]
    assert len(first_805) == 805

    created = client.post(comparisons_url, content=ndjson(first_805), headers=ndjson_headers)
    assert created.json() == {"received": 805, "created": 805, "unchanged": 0}
    reposted = client.post(comparisons_url, content=ndjson(first_805), headers=ndjson_headers)
    assert reposted.json() == {"received": 805, "created": 0, "unchanged": 805}
    everything = client.post(comparisons_url, json=rows, headers=researcher.headers)
    assert everything.json() == {"received": 2415, "created": 1610, "unchanged": 805}

    index = {
        text: n for n, text in enumerate(dict.fromkeys(o["instruction"] for o in alpaca_outputs))
    }
    judgments = [
        {
            "comparison_id": comparison_id(index[j["instruction"]], j["generator_2"]),
            "annotator": j["annotator"],
            "preference": j["preference"],
            "cost_usd": j["price_per_example"],
            "latency_ms": None if j["time_per_example"] is None else j["time_per_example"] * 1000,
        }
        for j in alpaca_judgments
    ]
    imported = client.post(
        f"/api/v1/jobs/{job['id']}/annotations", content=ndjson(judgments), headers=ndjson_headers
    )
    assert imported.json() == {"received": 4830, "created": 4830, "unchanged": 0}

    stored_comparisons = read_all(client, comparisons_url, researcher.headers)
    assert len(stored_comparisons) == 2415
    assert len({c["id"] for c in stored_comparisons}) == 2415
    stored = read_all(client, f"/api/v1/jobs/{job['id']}/annotations", researcher.headers)
    assert len(stored) == 4830
    expected = {(j["comparison_id"], j["annotator"]): j["preference"] for j in judgments}
    assert {(a["comparison_id"], a["annotator"]): a["preference"] for a in stored} == expected

    progress = client.get(f"/api/v1/jobs/{job['id']}", headers=researcher.headers).json()[
        "progress"
    ]
    assert progress["comparisons"] == 2415
    assert progress["annotations"] == 4830
