"""The evaluator table: how each annotator (and the humans as a group) judges, AlpacaEval's way.

Human agreement: a judgment p scored against a reference label r is 1 - |p - r|. A simulated
annotator is scored against the mode of all human labels of the comparison; a human against the
mode of the *other* humans (leave one out). Bias and variance need items an annotator judged
several times: variance = 1 - agreement of each judgment with the mode of the annotator's other
judgments of the item; bias = 1 - agreement of the annotator's mode with the humans' mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.stats.modes import categories, category_counts, modes
from app.stats.scores import agreement_score

HUMANS_ROW = "humans"
LENGTH_MARGIN = 30  # characters; shorter differences do not count as "longer"


@dataclass(frozen=True)
class Judgments:
    """One entry per judgment; `item` indexes the comparison arrays, `item_key` is its id."""

    item: NDArray[np.int64]
    item_key: NDArray[np.int64]
    annotator: NDArray[np.int64]
    is_human: NDArray[np.bool_]
    preference: NDArray[np.float64]  # NaN = unparsed
    shown_swapped: NDArray[np.float64]  # 0 / 1, NaN = unknown
    cost_usd: NDArray[np.float64]
    seconds: NDArray[np.float64]


@dataclass(frozen=True)
class ItemFeatures:
    length_1: NDArray[np.float64]
    length_2: NDArray[np.float64]
    has_list_1: NDArray[np.bool_]
    has_list_2: NDArray[np.bool_]


def _mean(values: NDArray[np.float64], mask: NDArray[np.bool_]) -> float | None:
    selected = values[mask & ~np.isnan(values)]
    return float(selected.mean()) if len(selected) else None


def _share_for(side_2: NDArray[np.bool_], p: NDArray[np.float64]) -> NDArray[np.float64]:
    """How much each judgment prefers the marked side (output_2 where side_2 is true)."""
    return np.where(side_2, p - 1, 2 - p)


def human_reference(
    j: Judgments, n_items: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(mode of all humans per item, leave-one-out mode per judgment, NaN for non-humans)."""
    cats = categories(j.preference)
    human_cats = np.where(j.is_human, cats, -1)
    counts = category_counts(j.item, human_cats, n_items)
    item_keys = np.zeros(n_items, dtype=np.int64)
    item_keys[j.item] = j.item_key
    all_humans = modes(counts, item_keys, seed)
    own = np.zeros((len(cats), 3))
    counted = human_cats >= 0
    own[np.flatnonzero(counted), human_cats[counted]] = 1
    others = counts[j.item] - own
    leave_one_out = np.where(counted, modes(others, j.item_key, seed), np.nan)
    return all_humans, leave_one_out


def _self_consistency(
    j: Judgments, rows: NDArray[np.bool_], human_mode: NDArray[np.float64], seed: int
) -> tuple[float | None, float | None]:
    """(bias, variance) from items this annotator judged at least twice."""
    items = j.item[rows]
    p = j.preference[rows]
    parsed = ~np.isnan(p)
    items, p = items[parsed], p[parsed]
    if len(items) == 0:
        return None, None
    unique, local = np.unique(items, return_inverse=True)
    counts = category_counts(local, categories(p), len(unique))
    repeated = counts.sum(axis=1) >= 2
    if not repeated.any():
        return None, None
    own = np.zeros((len(p), 3))
    own[np.arange(len(p)), categories(p)] = 1
    keys = unique.astype(np.int64)
    loo = modes(counts[local] - own, keys[local], seed)
    on_repeated = repeated[local]
    variance = float(np.abs(p[on_repeated] - loo[on_repeated]).mean())
    own_mode = modes(counts, keys, seed)
    reference = human_mode[unique]
    with_humans = repeated & ~np.isnan(reference)
    bias = (
        float(np.abs(own_mode[with_humans] - reference[with_humans]).mean())
        if with_humans.any()
        else None
    )
    return bias, variance


def _row(
    name: str,
    kind: str,
    rows: NDArray[np.bool_],
    j: Judgments,
    features: ItemFeatures,
    agreement_scores: NDArray[np.float64],
    bias_variance: tuple[float | None, float | None],
) -> dict[str, Any]:
    p = j.preference
    parsed = rows & ~np.isnan(p)
    decisive = parsed & (p != 1.5)
    len_1, len_2 = features.length_1[j.item], features.length_2[j.item]
    list_1, list_2 = features.has_list_1[j.item], features.has_list_2[j.item]
    first_is_2 = j.shown_swapped == 1
    n = int(rows.sum())
    return {
        "annotator": name,
        "kind": kind,
        "n_judgments": n,
        "human_agreement": _mean(agreement_scores, rows),
        "n_agreement": int((rows & ~np.isnan(agreement_scores)).sum()),
        "price_per_1000_usd": None if (m := _mean(j.cost_usd, rows)) is None else 1000 * m,
        "seconds_per_1000": None if (s := _mean(j.seconds, rows)) is None else 1000 * s,
        "bias": bias_variance[0],
        "variance": bias_variance[1],
        "p_prefers_output_1": None if (mp := _mean(p, parsed)) is None else 2 - mp,
        "p_prefers_shown_first": _mean(
            _share_for(first_is_2, p), decisive & ~np.isnan(j.shown_swapped)
        ),
        "p_prefers_longer": _mean(
            _share_for(len_2 > len_1, p), decisive & (np.abs(len_2 - len_1) > LENGTH_MARGIN)
        ),
        "p_prefers_lists": _mean(_share_for(list_2, p), decisive & (list_1 != list_2)),
        "share_parsed": float(parsed.sum() / n) if n else None,
    }


def evaluator_table(
    j: Judgments,
    features: ItemFeatures,
    annotator_names: list[str],
    annotator_kinds: list[str],
    seed: int,
) -> list[dict[str, Any]]:
    n_items = len(features.length_1)
    human_mode, leave_one_out = human_reference(j, n_items, seed)
    against_humans = agreement_score(j.preference, human_mode[j.item])
    scores = np.where(j.is_human, agreement_score(j.preference, leave_one_out), against_humans)
    table = []
    for code, (name, kind) in enumerate(zip(annotator_names, annotator_kinds, strict=True)):
        rows = j.annotator == code
        if not rows.any():
            continue
        bias_variance = _self_consistency(j, rows, human_mode, seed)
        table.append(_row(name, kind, rows, j, features, scores, bias_variance))
    if j.is_human.any():
        table.append(_row(HUMANS_ROW, "human", j.is_human, j, features, scores, (None, None)))
    return table
