"""The agreement coefficients give the values published for their textbook examples."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from app.stats.agreement import (
    cohen_kappa_from_table,
    counts_from_ratings,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha_nominal,
)
from tests.stats.conftest import judgment, pair

NA = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers x 12 units.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
]
# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_cohen_kappa_of_the_2x2_table_is_0_4() -> None:
    assert cohen_kappa_from_table([[20, 5], [10, 15]]) == pytest.approx(0.4)


def test_fleiss_kappa_of_wikipedias_example_is_0_210() -> None:
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_krippendorff_nominal_alpha_of_the_2011_example_is_0_743() -> None:
    counts = counts_from_ratings(KRIPPENDORFF_2011)
    assert krippendorff_alpha_nominal(counts) == pytest.approx(0.743, abs=5e-4)


def test_gwet_ac1_of_the_same_example_is_0_7754() -> None:
    counts = counts_from_ratings(KRIPPENDORFF_2011)
    assert gwet_ac1(counts) == pytest.approx(0.7754, abs=5e-5)


def test_fleiss_kappa_refuses_unequal_numbers_of_raters() -> None:
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[2, 1], [1, 1]])


def test_alpaca_evals_leave_one_out_example_gives_0_875(
    client: TestClient, researcher, judged_job
) -> None:
    """Four humans; item 1 labelled [1, 1, 1, 1], item 2 [2, 2, 2, 1]."""
    labels = {"c1": [1, 1, 1, 1], "c2": [2, 2, 2, 1]}
    judgments = [
        judgment(item, f"human-{rater}", float(value))
        for item, values in labels.items()
        for rater, value in enumerate(values)
    ]
    job = judged_job(researcher, [pair(1), pair(2)], judgments)
    stats = client.get(f"/api/v1/jobs/{job['id']}/stats", headers=researcher.headers).json()
    humans = next(row for row in stats["evaluators"] if row["annotator"] == "humans")
    assert humans["human_agreement"] == pytest.approx(0.875)
    assert humans["n_agreement"] == 8
