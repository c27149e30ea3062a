"""GET /api/v1/jobs/{id}/stats: what a researcher reads about a job's annotators and models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import krippendorff
import numpy as np
import pytest
from fastapi.testclient import TestClient
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from tests.stats.conftest import judgment, pair


def get_stats(client: TestClient, account, job_id: int, **params) -> dict:
    response = client.get(f"/api/v1/jobs/{job_id}/stats", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def evaluator(stats: dict, name: str) -> dict:
    return next(row for row in stats["evaluators"] if row["annotator"] == name)


def test_simulated_annotator_is_scored_against_the_humans_mode(
    client: TestClient, researcher, judged_job
) -> None:
    judgments = [
        # c1: humans say output_2 (2 of 3); the judge says 1.8 -> 1 - |1.8 - 2| = 0.8
        judgment("c1", "human-a", 2.0),
        judgment("c1", "human-b", 2.0),
        judgment("c1", "human-c", 1.0),
        judgment("c1", "judge", 1.8),
        # c2: humans say tie; the judge says output_1 -> 0.5
        judgment("c2", "human-a", 1.5),
        judgment("c2", "human-b", 1.5),
        judgment("c2", "judge", 1.0),
    ]
    job = judged_job(researcher, [pair(1), pair(2)], judgments)
    stats = get_stats(client, researcher, job["id"])
    assert evaluator(stats, "judge")["human_agreement"] == pytest.approx((0.8 + 0.5) / 2)


def test_ties_between_human_modes_are_broken_by_the_seed(
    client: TestClient, researcher, judged_job
) -> None:
    """Leave one out on c1 = [2, 2, 1]: human-a and human-b each see a tie {2, 1}; human-c sees
    2 and scores 0. On c2 = [1.5, 1.5] both score 1. So the humans score 4/5 if the seed breaks
    the tie towards 2, else 2/5; the same seed always gives the same answer."""
    judgments = [
        judgment("c1", "human-a", 2.0),
        judgment("c1", "human-b", 2.0),
        judgment("c1", "human-c", 1.0),
        judgment("c2", "human-a", 1.5),
        judgment("c2", "human-b", 1.5),
    ]
    job = judged_job(researcher, [pair(1), pair(2)], judgments)

    def humans(seed: int) -> float:
        stats = get_stats(client, researcher, job["id"], seed=seed, bootstrap=0)
        return evaluator(stats, "humans")["human_agreement"]

    outcomes = [humans(seed) for seed in range(12)]
    assert {round(x, 9) for x in outcomes} == {0.4, 0.8}
    assert [humans(seed) for seed in range(12)] == outcomes


def test_bias_diagnostics_of_an_annotator_that_prefers_longer_lists_shown_first(
    client: TestClient, researcher, judged_job
) -> None:
    long_list = "Here are the steps:\n- first do this\n- then do that\n- and finally this one"
    comparisons = [pair(n, output_1="Short.", output_2=long_list) for n in range(4)]
    judgments = [
        # Always picks output_2 (the longer one, with a list); it is shown first when swapped.
        judgment(f"c{n}", "judge", 2.0, shown_swapped=n < 3, cost_usd=0.002, latency_ms=500)
        for n in range(4)
    ]
    job = judged_job(researcher, comparisons, judgments)
    row = evaluator(get_stats(client, researcher, job["id"]), "judge")
    assert row["p_prefers_longer"] == 1.0
    assert row["p_prefers_lists"] == 1.0
    assert row["p_prefers_output_1"] == 0.0
    assert row["p_prefers_shown_first"] == pytest.approx(3 / 4)
    assert row["price_per_1000_usd"] == pytest.approx(2.0)
    assert row["seconds_per_1000"] == pytest.approx(500.0)


def test_unparsed_judgments_lower_the_share_parsed(
    client: TestClient, researcher, judged_job, db
) -> None:
    from sqlalchemy import update

    from app.db.models import Annotation

    job = judged_job(
        researcher, [pair(1), pair(2)], [judgment("c1", "judge", 2.0), judgment("c2", "judge", 1.0)]
    )
    db.execute(update(Annotation).where(Annotation.preference == 1.0).values(preference=None))
    db.commit()
    row = evaluator(get_stats(client, researcher, job["id"]), "judge")
    assert row["share_parsed"] == 0.5
    assert row["p_prefers_output_1"] == 0.0  # only the parsed judgment counts


def test_bias_and_variance_come_from_repeated_judgments(
    client: TestClient, researcher, judged_job
) -> None:
    judgments = [
        judgment("c1", "human-a", 1.0),
        judgment("c1", "judge", 2.0, repeat=0),
        judgment("c1", "judge", 2.0, repeat=1),
        judgment("c1", "judge", 2.0, repeat=2),
        judgment("c1", "judge", 1.0, repeat=3),
    ]
    job = judged_job(researcher, [pair(1)], judgments)
    row = evaluator(get_stats(client, researcher, job["id"]), "judge")
    # Leave one out within the judge: three repeats agree with the others' mode, one does not.
    assert row["variance"] == pytest.approx(0.25)
    # The judge's mode (2) against the human's (1).
    assert row["bias"] == pytest.approx(1.0)


def test_agreement_among_humans_matches_reference_implementations(
    client: TestClient, researcher, judged_job
) -> None:
    rng = np.random.default_rng(7)
    truth = rng.choice([1.0, 1.5, 2.0], 30)
    labels = np.where(rng.random((3, 30)) < 0.7, truth, rng.choice([1.0, 1.5, 2.0], (3, 30)))
    judgments = [
        judgment(f"c{item}", f"human-{rater}", float(labels[rater, item]))
        for rater in range(3)
        for item in range(30)
    ]
    job = judged_job(researcher, [pair(n) for n in range(30)], judgments)
    agreement = get_stats(client, researcher, job["id"])["agreement"]
    counts = np.stack([(labels == v).sum(axis=0) for v in (1.0, 1.5, 2.0)], axis=1)
    assert agreement["n_raters"] == 3 and agreement["n_items"] == 30
    assert agreement["fleiss_kappa"] == pytest.approx(statsmodels_fleiss(counts))
    assert agreement["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=labels, level_of_measurement="nominal")
    )
    for key in ("percent_agreement", "cohen_kappa", "gwet_ac1"):
        assert -1 <= agreement[key] <= 1


def test_filters_by_kind_gold_and_date(client: TestClient, researcher, judged_job) -> None:
    comparisons = [pair(1, gold_preference=2.0), pair(2)]
    judgments = [
        judgment("c1", "human-a", 2.0),
        judgment("c1", "judge", 2.0),
        judgment("c2", "judge", 1.0),
    ]
    job = judged_job(researcher, comparisons, judgments)
    humans = get_stats(client, researcher, job["id"], kinds="human")
    assert [row["annotator"] for row in humans["evaluators"]] == ["human-a", "humans"]
    assert get_stats(client, researcher, job["id"], gold="only")["counts"]["judgments"] == 2
    assert get_stats(client, researcher, job["id"], gold="exclude")["counts"]["judgments"] == 1
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert get_stats(client, researcher, job["id"], since=tomorrow)["counts"]["judgments"] == 0
    everything = get_stats(client, researcher, job["id"], until=tomorrow)
    assert everything["counts"]["judgments"] == 3


def test_ratings_intervals_are_reproducible_with_the_seed(
    client: TestClient, researcher, judged_job
) -> None:
    rng = np.random.default_rng(3)
    comparisons = [pair(n) for n in range(60)]
    judgments = [judgment(f"c{n}", "judge", float(rng.choice([1.0, 2.0, 2.0]))) for n in range(60)]
    job = judged_job(researcher, comparisons, judgments, seed=11)
    first = get_stats(client, researcher, job["id"], bootstrap=50)["ratings"]
    again = get_stats(client, researcher, job["id"], bootstrap=50)["ratings"]
    other_seed = get_stats(client, researcher, job["id"], bootstrap=50, seed=12)["ratings"]
    assert first == again
    assert first != other_seed
    assert first[0]["generator"] == "model-b"  # wins about two thirds
    for row in first:
        assert row["ci_low"] < row["rating"] < row["ci_high"]


@pytest.mark.parametrize("table", ["evaluators", "agreement", "win_rates", "ratings"])
def test_csv_columns_are_the_json_fields(
    client: TestClient, researcher, judged_job, table: str
) -> None:
    judgments = [judgment("c1", "judge", 2.0), judgment("c1", "human-a", 2.0)]
    job = judged_job(researcher, [pair(1)], judgments)
    stats = get_stats(client, researcher, job["id"], bootstrap=5)
    rows = stats[table] if table != "agreement" else [stats[table]]
    response = client.get(
        f"/api/v1/jobs/{job['id']}/stats",
        params={"format": "csv", "table": table, "bootstrap": 5},
        headers=researcher.headers,
    )
    header = response.text.splitlines()[0].split(",")
    assert header == list(rows[0])
    assert len(response.text.splitlines()) == len(rows) + 1


def test_csv_returns_the_named_table(client: TestClient, researcher, judged_job) -> None:
    job = judged_job(researcher, [pair(1)], [judgment("c1", "judge", 2.0)])
    response = client.get(
        f"/api/v1/jobs/{job['id']}/stats",
        params={"format": "csv", "table": "win_rates"},
        headers=researcher.headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == (
        "judge,generator,opponent,n,win_rate,standard_error,discrete_win_rate,wins,losses,draws"
    )
    assert lines[1].startswith("judge,model-b,model-a,1,100.0,")


def test_another_researchers_job_is_not_found(
    client: TestClient, researcher, make_account, judged_job, admin
) -> None:
    job = judged_job(researcher, [pair(1)], [judgment("c1", "judge", 2.0)])
    stranger = make_account("researcher")
    response = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=stranger.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/jobs/{job['id']}/stats", headers=admin.headers).status_code == 200
    assert client.get(f"/api/v1/jobs/{job['id']}/stats").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"kinds": "robot"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-02T00:00:00"},
        {"bootstrap": 5000},
        {"gold": "sometimes"},
        {"format": "xml"},
    ],
)
def test_bad_parameters_are_a_422(client: TestClient, researcher, make_job, params) -> None:
    job = make_job(researcher)
    response = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params=params, headers=researcher.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_job_without_judgments_has_empty_tables(
    client: TestClient, researcher, judged_job
) -> None:
    job = judged_job(researcher, [pair(1)], [])
    stats = get_stats(client, researcher, job["id"])
    assert stats["counts"]["judgments"] == 0
    assert stats["evaluators"] == stats["win_rates"] == stats["ratings"] == []
    assert stats["agreement"]["n_items"] == 0
    csv_text = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params={"format": "csv"}, headers=researcher.headers
    ).text
    assert csv_text.startswith("annotator,kind,n_judgments,human_agreement,")
    assert len(csv_text.splitlines()) == 1  # the header alone


def test_the_evaluator_and_calibration_tables_break_human_ties_alike(
    client: TestClient, researcher, judged_job
) -> None:
    """Two humans split 1 / 2 on every comparison: the seed picks the reference. A judge that
    always says 2 scores the same against it in both tables, whatever the seed (issue 13.9)."""
    comparisons = [pair(n) for n in range(12)]
    judgments = []
    for n in range(12):
        judgments += [judgment(f"c{n}", "human-a", 1.0), judgment(f"c{n}", "human-b", 2.0)]
        judgments.append(judgment(f"c{n}", "judge", 2.0))
    routing = {"policy": "active", "calibration_fraction": 1.0}
    job = judged_job(researcher, comparisons, judgments, routing=routing)
    seen = set()
    for seed in range(4):
        stats = get_stats(client, researcher, job["id"], seed=seed, bootstrap=0)
        evaluators = evaluator(stats, "judge")["human_agreement"]
        [calibration] = stats["calibration"]
        assert calibration["annotator"] == "judge"
        assert calibration["agreement"] == pytest.approx(evaluators)
        seen.add(round(evaluators, 9))
    assert len(seen) > 1  # the seed does decide the ties
