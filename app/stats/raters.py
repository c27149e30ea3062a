"""Inter-rater agreement among humans, from sparse (rater, item, label) judgments: on the three
categories, and on a graded scale's ordinal positions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.stats.agreement import (
    cohen_kappa_from_table,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha_nominal,
    krippendorff_alpha_ordinal,
    percent_agreement,
    weighted_kappa_from_table,
)
from app.stats.modes import category_counts

N_CATEGORIES = 3  # output_1, tie, output_2


def _light_kappa(
    rater: NDArray[np.int64],
    item: NDArray[np.int64],
    cat: NDArray[np.int64],
    n_categories: int = N_CATEGORIES,
    kappa: Callable[[NDArray[np.int64]], float] = cohen_kappa_from_table,
) -> float:
    """Cohen's kappa (or another kappa of a pair's table) averaged over rater pairs sharing at
    least two items."""
    order = np.lexsort((rater, item))
    rater, item, cat = rater[order], item[order], cat[order]
    n_raters = int(rater.max()) + 1
    keys, cells = [], []
    for offset in range(1, len(item)):
        same = item[offset:] == item[:-offset]
        if not same.any():
            break
        first, second = np.flatnonzero(same), np.flatnonzero(same) + offset
        keys.append(rater[first] * n_raters + rater[second])
        cells.append(cat[first] * n_categories + cat[second])
    if not keys:
        return float("nan")
    pair, cell = np.concatenate(keys), np.concatenate(cells)
    unique, inverse = np.unique(pair, return_inverse=True)
    tables = np.bincount(
        inverse * n_categories**2 + cell, minlength=len(unique) * n_categories**2
    ).reshape(len(unique), n_categories, n_categories)
    kappas = [kappa(t) for t in tables if t.sum() >= 2]
    kappas = [k for k in kappas if not np.isnan(k)]
    return float(np.mean(kappas)) if kappas else float("nan")


def _first_judgments(
    rater: NDArray[np.int64], item: NDArray[np.int64], cat: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """One judgment per rater and item, the first read; judgments without a category dropped."""
    keep = cat >= 0
    rater, item, cat = rater[keep], item[keep], cat[keep]
    pair_key = rater.astype(np.int64) * (int(item.max(initial=0)) + 1) + item
    _, first = np.unique(pair_key, return_index=True)
    return rater[first], item[first], cat[first]


def ordinal_agreement_summary(
    rater: NDArray[np.int64], item: NDArray[np.int64], rank: NDArray[np.int64], n_ranks: int
) -> dict[str, float | None]:
    """Krippendorff's ordinal alpha and Cohen's quadratic weighted kappa (mean over rater pairs)
    of judgments on a graded scale; `rank` is a judgment's place on the scale, 0 to n_ranks - 1
    (-1: not a graded answer, left out). Same judgments as the nominal summary: the first per
    rater and item, items with at least two raters."""
    rater, item, rank = _first_judgments(rater, item, rank)
    items, local = np.unique(item, return_inverse=True)
    counts = category_counts(local, rank, len(items), n_ranks)
    if not (counts.sum(axis=1) >= 2).any():
        return {"krippendorff_alpha_ordinal": None, "weighted_kappa": None}
    values = {
        "krippendorff_alpha_ordinal": krippendorff_alpha_ordinal(counts),
        "weighted_kappa": _light_kappa(rater, item, rank, n_ranks, weighted_kappa_from_table),
    }
    return {key: None if np.isnan(v) else v for key, v in values.items()}


def human_agreement_summary(
    rater: NDArray[np.int64], item: NDArray[np.int64], cat: NDArray[np.int64]
) -> dict[str, Any]:
    """Percent agreement, Cohen (mean over pairs), Fleiss (items with the most common number of
    raters), Krippendorff's nominal alpha and Gwet's AC1 (q = 3) over humans' first judgments."""
    rater, item, cat = _first_judgments(rater, item, cat)
    items, local = np.unique(item, return_inverse=True)
    counts = category_counts(local, cat, len(items))
    per_item = counts.sum(axis=1)
    shared = counts[per_item >= 2]
    summary: dict[str, Any] = {
        "n_raters": len(np.unique(rater)),
        "n_items": int((per_item >= 2).sum()),
        "percent_agreement": None,
        "cohen_kappa": None,
        "fleiss_kappa": None,
        "fleiss_items": 0,
        "krippendorff_alpha": None,
        "gwet_ac1": None,
    }
    if len(shared) == 0:
        return summary
    values, frequency = np.unique(per_item[per_item >= 2], return_counts=True)
    k = values[np.argmax(frequency)]
    equal = counts[per_item == k]
    summary.update(
        percent_agreement=percent_agreement(counts),
        cohen_kappa=_light_kappa(rater, item, cat),
        fleiss_kappa=fleiss_kappa(equal),
        fleiss_items=len(equal),
        krippendorff_alpha=krippendorff_alpha_nominal(counts),
        gwet_ac1=gwet_ac1(counts, N_CATEGORIES),
    )
    return {
        key: (None if isinstance(v, float) and np.isnan(v) else v) for key, v in summary.items()
    }
