"""On random data the coefficients agree with scikit-learn, statsmodels, krippendorff and choix."""

from __future__ import annotations

import choix
import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from app.stats.agreement import (
    cohen_kappa,
    counts_from_ratings,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    percent_agreement,
)
from app.stats.rankings import bradley_terry

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 3, 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(5, rng.dirichlet([1, 1, 1], size=60)[0], size=60)
    assert fleiss_kappa(counts) == pytest.approx(statsmodels_fleiss(counts), abs=1e-12)
    # With equal raters per item, percent agreement is Fleiss' observed agreement P-bar.
    p_bar = ((counts * (counts - 1)).sum(axis=1) / 20).mean()
    assert percent_agreement(counts) == pytest.approx(p_bar)


@pytest.mark.parametrize("seed", SEEDS)
def test_krippendorff_alpha_matches_the_krippendorff_package_with_missing_values(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 4, 80)
    ratings = np.where(rng.random((6, 80)) < 0.7, truth, rng.integers(1, 4, (6, 80))).astype(float)
    ratings[rng.random((6, 80)) < 0.3] = np.nan
    expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement="nominal")
    ours = krippendorff_alpha_nominal(counts_from_ratings(ratings, [1, 2, 3]))
    assert ours == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_bradley_terry_matches_choix(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_items = 5
    skill = rng.normal(size=n_items)
    games = []
    for _ in range(600):
        i, j = rng.choice(n_items, 2, replace=False)
        p_i = 1 / (1 + np.exp(skill[j] - skill[i]))
        games.append((i, j) if rng.random() < p_i else (j, i))
    wins = np.zeros((n_items, n_items))
    for winner, loser in games:
        wins[winner, loser] += 1
    expected = choix.ilsr_pairwise(n_items, games, alpha=0.0, max_iter=10_000, tol=1e-12)
    ours = bradley_terry(wins)
    assert ours == pytest.approx(expected - expected.mean(), abs=1e-6)
