"""prefarm against the peers' own code on the same judgments: FastChat's Elo analysis on the
`arena` export, AlpacaEval's analysis functions on the evaluator table (issue 13)."""

from __future__ import annotations

import os
import tempfile

import orjson
import pytest
from fastapi.testclient import TestClient

# alpaca_eval and datasets read these when imported: never reach a hub.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="prefarm-hf-"))

COT_JUDGE = "alpaca_eval_cot_gpt4_turbo_fn"  # discrete labels: 1, 2 and six 1.5


def test_fastchat_elo_analysis_reads_the_arena_export_and_agrees_with_our_ratings(
    client: TestClient, researcher, alpaca_job
) -> None:
    from fastchat.serve.monitor.elo_analysis import report_elo_analysis_results

    base = f"/api/v1/jobs/{alpaca_job['id']}"
    exported = client.get(
        f"{base}/export",
        params={"format": "arena", "ties": "keep", "annotators": COT_JUDGE},
        headers=researcher.headers,
    )
    battles = [orjson.loads(line) for line in exported.content.splitlines()]
    assert len(battles) == 2415
    fastchat = report_elo_analysis_results(battles, rating_system="bt", num_bootstrap=3)
    ours = client.get(
        f"{base}/stats",
        params={"annotators": COT_JUDGE, "bootstrap": 0},
        headers=researcher.headers,
    ).json()["ratings"]
    assert [row["generator"] for row in ours] == list(fastchat["elo_rating_final"].index)
    for row in ours:
        # FastChat fits with scikit-learn's default L2 penalty (C = 1); we add 0.01 of a tie.
        assert row["rating"] == pytest.approx(fastchat["elo_rating_final"][row["generator"]], abs=3)
