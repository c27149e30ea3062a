"""The evaluator table: how each annotator (and the humans as a group) judges, AlpacaEval's way.

Human agreement: a judgment p scored against a reference label r is 1 - |p - r|. A simulated
annotator is scored against the reference of all human labels of the comparison; a human against
the reference of the *other* humans (leave one out). The reference of a set of labels is
AlpacaEval's: their mode, or their median when any is soft (app/stats/modes.py). Bias and
variance need items an annotator judged several times: variance = 1 - agreement of each judgment
with the reference of the annotator's other judgments of the item; bias = 1 - agreement of the
annotator's reference with the humans'. P(prefers longer / lists) are AlpacaEval's: one judgment
per comparison, its discrete winner (a 1.5 counts as output_2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.stats.modes import leave_one_out_labels, reference_labels
from app.stats.scores import agreement_score

HUMANS_ROW = "humans"
LENGTH_MARGIN = 30  # characters; shorter differences do not count as "longer"


@dataclass(frozen=True)
class Judgments:
    """One entry per judgment; `item` indexes the comparison arrays, `item_key` is its id."""

    item: NDArray[np.int64]
    item_key: NDArray[np.int64]
    annotator: NDArray[np.int64]
    repeat: NDArray[np.int64]
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
    """(reference of all humans per item, leave-one-out reference per judgment, NaN for
    non-humans)."""
    item_keys = np.zeros(n_items, dtype=np.int64)
    item_keys[j.item] = j.item_key
    human = j.is_human
    all_humans = reference_labels(j.item[human], j.preference[human], n_items, item_keys, seed)
    leave_one_out = np.full(len(j.item), np.nan)
    leave_one_out[human] = leave_one_out_labels(
        j.item[human], j.preference[human], n_items, j.item_key[human], seed
    )
    return all_humans, leave_one_out


def _self_consistency(
    j: Judgments, rows: NDArray[np.bool_], human_reference: NDArray[np.float64], seed: int
) -> tuple[float | None, float | None]:
    """(bias, variance) from items this annotator judged at least twice."""
    items = j.item[rows]
    p = j.preference[rows]
    keys = j.item_key[rows]
    parsed = ~np.isnan(p)
    items, p, keys = items[parsed], p[parsed], keys[parsed]
    if len(items) == 0:
        return None, None
    unique, local = np.unique(items, return_inverse=True)
    repeated = np.bincount(local) >= 2
    if not repeated.any():
        return None, None
    on_repeated = repeated[local]
    others = leave_one_out_labels(local, p, len(unique), keys, seed)
    variance = float(np.abs(p[on_repeated] - others[on_repeated]).mean())
    unique_keys = np.zeros(len(unique), dtype=np.int64)
    unique_keys[local] = keys
    own = reference_labels(local, p, len(unique), unique_keys, seed)
    reference = human_reference[unique]
    with_humans = repeated & ~np.isnan(reference)
    bias = (
        float(np.abs(own[with_humans] - reference[with_humans]).mean())
        if with_humans.any()
        else None
    )
    return bias, variance


def _first_per_comparison(j: Judgments, rows: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """One judgment per comparison among `rows`, as AlpacaEval keeps the first annotation of
    each pair: the lowest repeat, then annotator."""
    chosen = np.zeros(len(rows), dtype=bool)
    candidates = np.flatnonzero(rows)
    order = candidates[
        np.lexsort((j.annotator[candidates], j.repeat[candidates], j.item[candidates]))
    ]
    _, first = np.unique(j.item[order], return_index=True)
    chosen[order[first]] = True
    return chosen


def _discrete_bias(
    j: Judgments, features: ItemFeatures, rows: NDArray[np.bool_]
) -> tuple[float | None, float | None]:
    """AlpacaEval's P(prefers longer) and P(prefers lists) (Analyzer.get_length_biases and
    get_list_biases): one judgment per comparison; its winner is output_1 below 1.5, else
    output_2; longer means more than LENGTH_MARGIN characters longer."""
    first = _first_per_comparison(j, rows) & ~np.isnan(j.preference)
    item = j.item[first]
    best_is_2 = j.preference[first] >= 1.5
    len_1, len_2 = features.length_1[item], features.length_2[item]
    list_1, list_2 = features.has_list_1[item], features.has_list_2[item]
    one_longer = np.abs(len_2 - len_1) > LENGTH_MARGIN
    prefers_longer = np.where(best_is_2, len_2 > len_1, len_1 > len_2)
    either_list = list_1 != list_2
    prefers_list = np.where(best_is_2, list_2, list_1)
    longer = float(prefers_longer[one_longer].mean()) if one_longer.any() else None
    lists = float(prefers_list[either_list].mean()) if either_list.any() else None
    return longer, lists


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
    first_is_2 = j.shown_swapped == 1
    n = int(rows.sum())
    longer, lists = _discrete_bias(j, features, rows)
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
        "p_prefers_longer": longer,
        "p_prefers_lists": lists,
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
    humans, leave_one_out = human_reference(j, n_items, seed)
    against_humans = agreement_score(j.preference, humans[j.item])
    scores = np.where(j.is_human, agreement_score(j.preference, leave_one_out), against_humans)
    table = []
    for code, (name, kind) in enumerate(zip(annotator_names, annotator_kinds, strict=True)):
        rows = j.annotator == code
        if not rows.any():
            continue
        bias_variance = _self_consistency(j, rows, humans, seed)
        table.append(_row(name, kind, rows, j, features, scores, bias_variance))
    if j.is_human.any():
        table.append(_row(HUMANS_ROW, "human", j.is_human, j, features, scores, (None, None)))
    return table
