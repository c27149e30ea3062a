"""Length features of conversations (issue 15): length bias and the length-controlled win rate
measure the candidate turns only, never the conversation they answer."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.db.session import read_connection
from app.stats.data import load_comparisons
from tests.stats.conftest import judgment

LONG_TURN = "A long earlier answer. " * 200


def chat(n: int, output_1: Any, output_2: Any) -> dict[str, Any]:
    return {
        "id": f"c{n}",
        "messages": [
            {"role": "user", "content": f"Tell me about topic {n}."},
            {"role": "assistant", "content": LONG_TURN},
            {"role": "user", "content": "Shorter, please."},
        ],
        "output_1": output_1,
        "output_2": output_2,
        "generator_1": "model-a",
        "generator_2": "model-b",
    }


STEPS = [{"role": "assistant", "content": "x" * 20}, {"role": "assistant", "content": "y" * 70}]
ROWS = [
    chat(1, "Short.", "A much longer answer that goes on for quite a few more words."),
    chat(2, STEPS, "A single message of moderate length."),
    chat(3, "Tiny.", STEPS),
]
# The candidates' texts as the statistics must measure them: a message list joined by a blank line.
CANDIDATE_LENGTHS = [(6, 61), (92, 36), (5, 92)]


def test_candidate_lengths_exclude_the_conversation(researcher, judged_job, engine) -> None:
    job = judged_job(researcher, ROWS, [])
    with read_connection(engine) as connection:
        arrays = load_comparisons(connection, job["id"], "include")
    assert list(zip(arrays.length_1, arrays.length_2, strict=True)) == CANDIDATE_LENGTHS


def test_length_bias_reads_the_candidate_turns(client: TestClient, researcher, judged_job) -> None:
    # The judge prefers the longer candidate every time, though output_1 of c2 is the shorter
    # message count.
    prefers_longer = [judgment("c1", "judge", 2.0), judgment("c2", "judge", 1.0)]
    prefers_longer.append(judgment("c3", "judge", 2.0))
    job = judged_job(researcher, ROWS, prefers_longer)
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=researcher.headers).json()
    [judge] = [row for row in stats["evaluators"] if row["annotator"] == "judge"]
    assert judge["p_prefers_longer"] == 1.0
