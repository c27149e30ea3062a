"""The ordinal coefficients of graded scales agree with the krippendorff package and
scikit-learn on random data with missing values."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from app.stats.agreement import (
    counts_from_ratings,
    krippendorff_alpha_ordinal,
    weighted_kappa_from_table,
)

SEEDS = [0, 1, 2]
LIKERT = np.arange(-3, 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_ordinal_alpha_matches_the_krippendorff_package_with_missing_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(-3, 4, 90)
    noisy = np.clip(truth + rng.integers(-1, 2, (5, 90)), -3, 3)
    ratings = np.where(rng.random((5, 90)) < 0.7, noisy, rng.integers(-3, 4, (5, 90)))
    ratings = ratings.astype(float)
    ratings[rng.random((5, 90)) < 0.3] = np.nan
    expected = krippendorff.alpha(
        reliability_data=ratings, level_of_measurement="ordinal", value_domain=list(LIKERT)
    )
    ours = krippendorff_alpha_ordinal(counts_from_ratings(ratings, LIKERT))
    assert ours == pytest.approx(expected, abs=1e-12)


def test_ordinal_alpha_ignores_scale_values_nobody_used() -> None:
    ratings = np.array([[-3, -2, 2, 3, np.nan], [-3, -1, 2, 2, 1]], dtype=float)
    used = np.unique(ratings[~np.isnan(ratings)])
    assert krippendorff_alpha_ordinal(counts_from_ratings(ratings, LIKERT)) == pytest.approx(
        krippendorff_alpha_ordinal(counts_from_ratings(ratings, used)), abs=1e-12
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", ["quadratic", "linear"])
def test_weighted_kappa_matches_scikit_learn(seed: int, weights: str) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 7, 300)
    b = np.clip(a + rng.integers(-2, 3, 300), 0, 6)
    table = np.zeros((7, 7))
    np.add.at(table, (a, b), 1)
    expected = cohen_kappa_score(a, b, labels=list(range(7)), weights=weights)
    assert weighted_kappa_from_table(table, weights) == pytest.approx(expected, abs=1e-12)
