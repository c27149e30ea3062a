"""Chance-corrected agreement among raters (docs/statistics.md).

Most coefficients here work from a *count matrix*: one row per item, one column per category,
each cell the number of raters who put that item in that category. Missing ratings are simply
not counted, so items may have different numbers of raters.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def counts_from_ratings(ratings: ArrayLike, categories: ArrayLike | None = None) -> FloatArray:
    """Count matrix (items x categories) from a raters x items matrix with NaN for missing."""
    data = np.asarray(ratings, dtype=float)
    cats = np.unique(data[~np.isnan(data)]) if categories is None else np.asarray(categories)
    return np.stack([(data == c).sum(axis=0) for c in cats], axis=1).astype(float)


def _pairable(counts: FloatArray) -> FloatArray:
    pairable: FloatArray = counts[counts.sum(axis=1) >= 2]
    return pairable


def percent_agreement(counts: ArrayLike) -> float:
    """Share of agreeing rater pairs, averaged over items rated at least twice."""
    c = _pairable(np.asarray(counts, dtype=float))
    if len(c) == 0:
        return float("nan")
    r = c.sum(axis=1)
    return float(np.mean((c * (c - 1)).sum(axis=1) / (r * (r - 1))))


def cohen_kappa_from_table(table: ArrayLike) -> float:
    """Cohen's kappa from a confusion table (rows: rater A's category, columns: rater B's)."""
    t = np.asarray(table, dtype=float)
    n = t.sum()
    observed = np.trace(t) / n
    expected = float(t.sum(axis=1) @ t.sum(axis=0)) / n**2
    return float((observed - expected) / (1 - expected)) if expected != 1 else float("nan")


def cohen_kappa(a: ArrayLike, b: ArrayLike, categories: ArrayLike | None = None) -> float:
    """Cohen's kappa of two raters' labels on the same items."""
    x, y = np.asarray(a), np.asarray(b)
    cats = np.unique(np.concatenate([x, y])) if categories is None else np.asarray(categories)
    table = (x[:, None] == cats[None, :]).T.astype(float) @ (y[:, None] == cats[None, :])
    return cohen_kappa_from_table(table)


def fleiss_kappa(counts: ArrayLike) -> float:
    """Fleiss' kappa; every item must have the same number of raters."""
    c = np.asarray(counts, dtype=float)
    r = c.sum(axis=1)
    if len(c) == 0 or r[0] < 2 or not np.all(r == r[0]):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of raters on every item")
    n = r[0]
    p_item = ((c * (c - 1)).sum(axis=1)) / (n * (n - 1))
    p_cat = c.sum(axis=0) / c.sum()
    p_bar, p_e = p_item.mean(), float((p_cat**2).sum())
    return float((p_bar - p_e) / (1 - p_e)) if p_e != 1 else float("nan")


def krippendorff_alpha_nominal(counts: ArrayLike) -> float:
    """Krippendorff's alpha for nominal data, from per-item counts (missing values allowed)."""
    c = _pairable(np.asarray(counts, dtype=float))
    if len(c) == 0:
        return float("nan")
    m = c.sum(axis=1)
    # Coincidence matrix: o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1).
    weighted = c / (m - 1)[:, None]
    coincidence = weighted.T @ c - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagreement_observed = coincidence.sum() - np.trace(coincidence)
    disagreement_expected = (n_c.sum() ** 2 - (n_c**2).sum()) / (n - 1)
    if disagreement_expected == 0:
        return float("nan")
    return float(1 - disagreement_observed / disagreement_expected)


def krippendorff_alpha_ordinal(counts: ArrayLike) -> float:
    """Krippendorff's alpha for ordinal data, from per-item counts whose columns are the scale's
    values in order (missing values allowed; values nobody used may be columns of zeros).

    The ordinal distance of values c <= k uses the pairable values' marginals n_g:
    delta_ck = (sum of n_g for g from c to k - (n_c + n_k) / 2) ** 2.
    """
    c = _pairable(np.asarray(counts, dtype=float))
    if len(c) == 0:
        return float("nan")
    m = c.sum(axis=1)
    weighted = c / (m - 1)[:, None]
    coincidence = weighted.T @ c - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(n_c)])
    index = np.arange(len(n_c))
    low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
    delta = (cumulative[high + 1] - cumulative[low] - (n_c[low] + n_c[high]) / 2) ** 2
    np.fill_diagonal(delta, 0.0)
    disagreement_expected = float(n_c @ delta @ n_c) / (n - 1)
    if disagreement_expected == 0:
        return float("nan")
    return float(1 - float((coincidence * delta).sum()) / disagreement_expected)


def weighted_kappa_from_table(table: ArrayLike, weights: str = "quadratic") -> float:
    """Cohen's weighted kappa from a confusion table of ordered categories: 1 - sum(w o) / sum(w e)
    with disagreement weights w_ij = |i - j| (linear) or (i - j)^2 (quadratic)."""
    t = np.asarray(table, dtype=float)
    n = t.sum()
    index = np.arange(t.shape[0])
    distance = np.abs(np.subtract.outer(index, index)).astype(float)
    w = distance**2 if weights == "quadratic" else distance
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    disagreement_expected = float((w * expected).sum())
    if disagreement_expected == 0:
        return float("nan")
    return float(1 - float((w * t).sum()) / disagreement_expected)


def gwet_ac1(counts: ArrayLike, n_categories: int | None = None) -> float:
    """Gwet's AC1 with missing ratings; `n_categories` is q (default: the count matrix's columns).

    Agreement is averaged over items rated at least twice; category prevalence over every item
    rated at least once (Gwet 2014, chapter on missing ratings).
    """
    c = np.asarray(counts, dtype=float)
    q = n_categories if n_categories is not None else c.shape[1]
    rated = c[c.sum(axis=1) >= 1]
    if len(rated) == 0 or q < 2:
        return float("nan")
    p_a = percent_agreement(c)
    prevalence = (rated / rated.sum(axis=1)[:, None]).mean(axis=0)
    p_e = float((prevalence * (1 - prevalence)).sum()) / (q - 1)
    return float((p_a - p_e) / (1 - p_e)) if p_e != 1 else float("nan")
