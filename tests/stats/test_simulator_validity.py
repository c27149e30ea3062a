"""Simulator validity: does the simulated leaderboard reproduce the human one? (issue 13.8)
Correlations are checked against scipy.stats on leaderboards computed here from the raw
judgments; AlpacaFarm's analysis reports the same Spearman statistic (alpaca_eval's
Analyzer.estimate_correlations calls scipy's spearmanr)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.stats import kendalltau, spearmanr

from tests.stats.conftest import judgment, pair

REFERENCE = "ref"
GENERATORS = ["g-weak", "g-fair", "g-good", "g-best", "g-top"]
STRENGTH = dict(zip(GENERATORS, [0.1, 0.3, 0.5, 0.7, 0.9], strict=True))
PER_GENERATOR = 30


def panel() -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(11)
    comparisons, judgments = [], []
    for g in GENERATORS:
        for k in range(PER_GENERATOR):
            cid = f"{g}-{k}"
            comparisons.append(
                dict(pair(0), id=cid, instruction=f"Task {k}?", generator_1=REFERENCE,
                     generator_2=g, output_2=f"{g} answers task {k}.")
            )  # fmt: skip
            wins = rng.random() < STRENGTH[g]
            human = 2.0 if wins else 1.0
            judgments.append(judgment(cid, "human-a", human))
            judgments.append(judgment(cid, "judge-good", human if rng.random() < 0.85 else 1.5))
            judgments.append(judgment(cid, "judge-contrarian", 3.0 - human))
    return comparisons, judgments


def win_rates(judgments: list[dict], annotators: set[str]) -> dict[str, float]:
    out = {}
    for g in GENERATORS:
        scores = [
            j["preference"] - 1
            for j in judgments
            if j["annotator"] in annotators and j["comparison_id"].startswith(g + "-")
        ]
        out[g] = 100 * sum(scores) / len(scores)
    return out


@pytest.fixture
def validity(client: TestClient, researcher, judged_job) -> tuple[dict, list[dict]]:
    comparisons, judgments = panel()
    job = judged_job(researcher, comparisons, judgments, reference_generator=REFERENCE, seed=3)
    response = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params={"bootstrap": 200}, headers=researcher.headers
    )
    assert response.status_code == 200
    return response.json(), judgments


def test_the_simulated_leaderboards_correlations_are_scipys(validity) -> None:
    stats, judgments = validity
    human = win_rates(judgments, {"human-a"})
    rows = {row["annotator"]: row for row in stats["simulator_validity"]}
    assert set(rows) == {"all simulated", "judge-good", "judge-contrarian"}
    for name, annotators in (
        ("judge-good", {"judge-good"}),
        ("judge-contrarian", {"judge-contrarian"}),
        ("all simulated", {"judge-good", "judge-contrarian"}),
    ):
        simulated = win_rates(judgments, annotators)
        h = [human[g] for g in GENERATORS]
        s = [simulated[g] for g in GENERATORS]
        row = rows[name]
        assert row["n_generators"] == len(GENERATORS)
        assert row["spearman"] == pytest.approx(spearmanr(h, s).statistic, abs=1e-12)
        assert row["kendall"] == pytest.approx(kendalltau(h, s).statistic, abs=1e-12)


def test_a_faithful_judge_picks_the_humans_winner_and_a_contrarian_does_not(validity) -> None:
    stats, judgments = validity
    rows = {row["annotator"]: row for row in stats["simulator_validity"]}
    human = win_rates(judgments, {"human-a"})
    assert rows["judge-good"]["human_winner"] == max(human, key=human.get)
    assert rows["judge-good"]["same_winner"] is True
    assert rows["judge-good"]["pairwise_accuracy"] > 0.8
    assert rows["judge-contrarian"]["same_winner"] is False
    assert rows["judge-contrarian"]["pairwise_accuracy"] == 0.0


def test_correlations_have_bootstrap_intervals_and_the_scatter_has_every_generator(
    validity,
) -> None:
    stats, judgments = validity
    good = next(r for r in stats["simulator_validity"] if r["annotator"] == "judge-good")
    assert good["spearman_low"] <= good["spearman"] <= good["spearman_high"]
    assert good["kendall_low"] <= good["kendall"] <= good["kendall_high"]
    points = {row["generator"]: row for row in stats["simulator_leaderboards"]}
    assert set(points) == set(GENERATORS)  # the reference is not on its own leaderboard
    human = win_rates(judgments, {"human-a"})
    for g in GENERATORS:
        assert points[g]["human_win_rate"] == pytest.approx(human[g])
        assert points[g]["human_judgments"] == PER_GENERATOR
        assert points[g]["simulated_judgments"] == 2 * PER_GENERATOR


def test_a_job_without_humans_has_no_validity_table(
    client: TestClient, researcher, judged_job
) -> None:
    job = judged_job(researcher, [pair(1)], [judgment("c1", "judge", 2.0)])
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=researcher.headers).json()
    assert stats["simulator_validity"] == [] and stats["simulator_leaderboards"] == []
