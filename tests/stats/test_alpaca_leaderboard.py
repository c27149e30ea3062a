"""Win rates of the 4,830 real AlpacaEval 2.0 judgments, read through the stats endpoint, are
AlpacaEval's published leaderboard figures.

Source of the published figures: tatsu-lab/alpaca_eval on GitHub,
src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv
and alpaca_eval_cot_gpt4_turbo_fn_leaderboard.csv (columns win_rate, standard_error, n_wins,
n_wins_base, n_draws; in the second file gpt-3.5-turbo-0301 is listed as "chatgpt").
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.stats.conftest import REFERENCE

# judge -> generator -> (win_rate, standard_error, wins, losses, draws)
PUBLISHED = {
    "weighted_alpaca_eval_gpt4_turbo": {
        "alpaca-7b": (2.591450540223603, 0.4870855382635108, 17, 785, 3),
        "gpt-3.5-turbo-0301": (9.622453295105588, 0.9129656686751644, 71, 733, 1),
        "claude-2.1": (15.733506736409938, 1.120315865445773, 115, 688, 2),
    },
    "alpaca_eval_cot_gpt4_turbo_fn": {
        "alpaca-7b": (2.422360248447205, 0.5314153465076921, 18, 784, 3),
        "gpt-3.5-turbo-0301": (6.645962732919254, 0.8762495431773331, 53, 751, 1),
        "claude-2.1": (12.919254658385093, 1.1796402736033835, 103, 700, 2),
    },
}


@pytest.fixture
def stats(client: TestClient, researcher, alpaca_job) -> dict:
    response = client.get(
        f"/api/v1/jobs/{alpaca_job['id']}/stats",
        params={"bootstrap": 20},
        headers=researcher.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("judge", sorted(PUBLISHED))
def test_win_rates_match_the_published_leaderboard(stats: dict, judge: str) -> None:
    rows = {
        row["generator"]: row
        for row in stats["win_rates"]
        if row["judge"] == judge and row["opponent"] == REFERENCE
    }
    assert set(rows) == set(PUBLISHED[judge])
    for generator, (win_rate, standard_error, wins, losses, draws) in PUBLISHED[judge].items():
        row = rows[generator]
        assert row["win_rate"] == pytest.approx(win_rate, abs=1e-9)
        assert row["standard_error"] == pytest.approx(standard_error, abs=1e-9)
        assert (row["wins"], row["losses"], row["draws"], row["n"]) == (wins, losses, draws, 805)


def test_ratings_rank_the_generators_as_the_leaderboard_does(stats: dict) -> None:
    order = [row["generator"] for row in stats["ratings"]]
    assert order == [REFERENCE, "claude-2.1", "gpt-3.5-turbo-0301", "alpaca-7b"]
    for row in stats["ratings"]:
        assert row["ci_low"] <= row["rating"] <= row["ci_high"]
    assert sum(row["rating"] for row in stats["ratings"]) / 4 == pytest.approx(1000)


def test_evaluator_table_reports_price_time_and_parsing_per_judge(stats: dict) -> None:
    rows = {row["annotator"]: row for row in stats["evaluators"]}
    assert set(rows) == set(PUBLISHED)
    for row in rows.values():
        assert row["n_judgments"] == 2415
        assert row["share_parsed"] == 1.0
        assert row["price_per_1000_usd"] > 0 and row["seconds_per_1000"] > 0
        assert row["human_agreement"] is None  # no humans in this job
        # The reference (output_1) wins most comparisons.
        assert row["p_prefers_output_1"] > 0.8
