"""Labels as categories, and the mode of a set of labels with reproducible tie-breaking."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Category order used throughout: output_1 better, tie, output_2 better.
CATEGORY_VALUES = np.array([1.0, 1.5, 2.0])


def categories(preferences: NDArray[np.float64]) -> NDArray[np.int64]:
    """0 = output_1, 1 = tie, 2 = output_2; soft preferences go to the side they lean to.
    Unparsed (NaN) preferences give -1."""
    cats = np.where(preferences < 1.5, 0, np.where(preferences > 1.5, 2, 1))
    return np.where(np.isnan(preferences), -1, cats).astype(np.int64)


def category_counts(
    items: NDArray[np.int64], cats: NDArray[np.int64], n_items: int, n_categories: int = 3
) -> NDArray[np.float64]:
    """items x categories counts of the labels given (unparsed labels, -1, are left out)."""
    keep = cats >= 0
    flat = np.bincount(items[keep] * n_categories + cats[keep], minlength=n_items * n_categories)
    return flat.reshape(n_items, n_categories).astype(float)


def _splitmix64(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def seeded_hash(seed: int, keys: NDArray[np.int64]) -> NDArray[np.uint64]:
    """A hash of (seed, key) that is the same in every process and every run."""
    mixed = _splitmix64(np.full(len(keys), seed % 2**64, dtype=np.uint64))
    return _splitmix64(mixed ^ keys.astype(np.uint64))


def modes(counts: NDArray[np.float64], keys: NDArray[np.int64], seed: int) -> NDArray[np.float64]:
    """The most frequent label value (1, 1.5 or 2) of each row; NaN where a row has no labels.

    Several labels equally frequent: one of them, chosen by a hash of the seed and the row's key
    (the comparison id), so the choice does not depend on the order rows are read in."""
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top) & (top > 0)
    n_tied = tied.sum(axis=1)
    pick = seeded_hash(seed, keys) % np.maximum(n_tied, 1).astype(np.uint64)
    position = np.cumsum(tied, axis=1) - 1
    chosen = tied & (position == pick.astype(np.int64)[:, None])
    values = (chosen * CATEGORY_VALUES).sum(axis=1)
    return np.where(n_tied > 0, values, np.nan)


def _is_soft(preferences: NDArray[np.float64]) -> NDArray[np.bool_]:
    soft: NDArray[np.bool_] = ~np.isnan(preferences) & ~np.isin(preferences, CATEGORY_VALUES)
    return soft


def _sorted_groups(
    items: NDArray[np.int64], preferences: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Parsed judgments sorted by (item, preference): (positions in the input, group start of
    each, group size of each, sorted values)."""
    parsed = np.flatnonzero(~np.isnan(preferences))
    order = parsed[np.lexsort((preferences[parsed], items[parsed]))]
    sorted_items = items[order]
    _, starts, sizes = np.unique(sorted_items, return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(starts)), sizes)
    return order, starts[group], sizes[group], preferences[order]


def reference_labels(
    items: NDArray[np.int64],
    preferences: NDArray[np.float64],
    n_items: int,
    keys: NDArray[np.int64],
    seed: int,
) -> NDArray[np.float64]:
    """The reference label of each item's judgments, AlpacaEval's Bayes estimator under the
    absolute loss: the mode (ties broken by `modes`) when every label is 1, 1.5 or 2, else the
    median of the preferences. NaN for an item without parsed judgments. `keys[i]` is item
    i's comparison id."""
    counts = category_counts(items, categories(preferences), n_items)
    result = modes(counts, keys, seed)
    soft_items = np.unique(items[_is_soft(preferences)])
    if len(soft_items):
        order, start, size, values = _sorted_groups(items, preferences)
        first = np.flatnonzero(np.arange(len(order)) == start)
        low = values[first + (size[first] - 1) // 2]
        high = values[first + size[first] // 2]
        median_item = items[order[first]]
        wanted = np.isin(median_item, soft_items)
        result[median_item[wanted]] = ((low + high) / 2)[wanted]
    return result


def leave_one_out_labels(
    items: NDArray[np.int64],
    preferences: NDArray[np.float64],
    n_items: int,
    keys: NDArray[np.int64],
    seed: int,
) -> NDArray[np.float64]:
    """For each judgment, the reference label (as reference_labels) of the *other* parsed
    judgments of its item; NaN when there are none or the judgment is unparsed. `keys[i]` is
    the comparison id of judgment i."""
    cats = categories(preferences)
    counts = category_counts(items, cats, n_items)
    own = np.zeros((len(cats), 3))
    counted = cats >= 0
    own[np.flatnonzero(counted), cats[counted]] = 1
    result = np.where(counted, modes(counts[items] - own, keys, seed), np.nan)
    soft = _is_soft(preferences)
    if soft.any():
        n_soft = np.bincount(items[soft], minlength=n_items)
        others_soft = n_soft[items] - soft > 0
        order, start, size, values = _sorted_groups(items, preferences)
        rank = np.arange(len(order)) - start
        others = size - 1

        def without_self(k: NDArray[np.int64]) -> NDArray[np.float64]:
            """The k-th smallest of the other values of each judgment's item."""
            index = start + k + (k >= rank)
            picked: NDArray[np.float64] = values[np.minimum(index, len(values) - 1)]
            return picked

        has_others = others > 0
        k_low = np.maximum((others - 1) // 2, 0)
        k_high = np.maximum(others // 2, 0)
        median = (without_self(k_low) + without_self(k_high)) / 2
        use_median = others_soft[order] & has_others
        result[order[use_median]] = median[use_median]
    return result
