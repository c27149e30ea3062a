"""Bradley-Terry converges on sparse, one-sided data and says when generators never met
(issue 11.2): a page view must not burn minutes of CPU on 20 comparisons."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.stats.rankings import fit_bradley_terry
from tests.stats.conftest import judgment, pair

CHAIN = 21  # generators g0 .. g20; g(k+1) beats g(k) once


def chain_wins(n: int) -> np.ndarray:
    wins = np.zeros((n, n))
    for k in range(n - 1):
        wins[k + 1, k] = 1.0
    return wins


def test_a_chain_of_one_sided_judgments_converges_in_few_iterations() -> None:
    fit = fit_bradley_terry(chain_wins(CHAIN), prior=0.01)
    assert fit.converged
    assert fit.iterations <= 30
    assert fit.n_components == 1
    assert list(np.argsort(fit.log_strength)) == list(range(CHAIN))
    assert fit.log_strength.mean() == pytest.approx(0, abs=1e-9)


def test_generators_that_never_met_are_reported_as_separate_groups() -> None:
    wins = np.zeros((4, 4))
    wins[0, 1], wins[1, 0] = 3, 1  # g0 and g1 play each other
    wins[2, 3], wins[3, 2] = 1, 2  # g2 and g3 play each other, never g0 or g1
    fit = fit_bradley_terry(wins)
    assert fit.converged and fit.n_components == 2
    assert fit.component[0] == fit.component[1] != fit.component[2] == fit.component[3]
    # Within each group: the exact two-player answer, log(3/1) and log(2/1) apart.
    assert fit.log_strength[0] - fit.log_strength[1] == pytest.approx(np.log(3))
    assert fit.log_strength[3] - fit.log_strength[2] == pytest.approx(np.log(2))


def chain_comparisons() -> tuple[list[dict], list[dict]]:
    comparisons = [
        pair(k, generator_1=f"g{k:02d}", generator_2=f"g{k + 1:02d}") for k in range(CHAIN - 1)
    ]
    judgments = [judgment(f"c{k}", "judge", 2.0) for k in range(CHAIN - 1)]
    return comparisons, judgments


def test_the_chain_through_the_api_fits_and_bootstraps_every_round(
    client: TestClient, researcher, judged_job
) -> None:
    job = judged_job(researcher, *chain_comparisons())
    response = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params={"bootstrap": 200}, headers=researcher.headers
    )
    assert response.status_code == 200
    stats = response.json()
    fit = stats["ratings_fit"]
    assert fit["converged"] and fit["iterations"] <= 30
    assert fit["connected"] and fit["bootstrap_rounds"] == 200
    order = [row["generator"] for row in stats["ratings"]]
    assert order == [f"g{k:02d}" for k in reversed(range(CHAIN))]


def test_a_disconnected_job_says_so_and_rates_each_group_on_its_own(
    client: TestClient, researcher, judged_job
) -> None:
    comparisons = [
        pair(1, generator_1="a", generator_2="b"),
        pair(2, generator_1="a", generator_2="b"),
        pair(3, generator_1="x", generator_2="y"),
    ]
    judgments = [judgment("c1", "judge", 2.0), judgment("c2", "judge", 1.0)]
    judgments.append(judgment("c3", "judge", 2.0))
    job = judged_job(researcher, comparisons, judgments)
    stats = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params={"bootstrap": 20}, headers=researcher.headers
    ).json()
    assert stats["ratings_fit"]["connected"] is False
    assert stats["ratings_fit"]["components"] == 2
    groups = {row["generator"]: row["group"] for row in stats["ratings"]}
    assert groups["a"] == groups["b"] != groups["x"] == groups["y"]
    for group in set(groups.values()):
        ratings = [row["rating"] for row in stats["ratings"] if row["group"] == group]
        assert sum(ratings) / len(ratings) == pytest.approx(1000)
