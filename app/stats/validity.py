"""Simulator validity, AlpacaFarm's central claim: does the leaderboard of the simulated
annotators reproduce the humans' one? (docs/statistics.md)

A leaderboard is each generator's win rate: the mean score of its judgments (p - 1 as
output_2, 2 - p as output_1), against the job's reference generator when it has one (the
reference itself is then left out), else against every opponent. The human leaderboard uses the
human judgments; the simulated one all simulated judgments pooled, and one more per simulated
annotator. Over the generators both leaderboards rate:

- Spearman's rho and Kendall's tau-b of the two lists of win rates, with 2.5 / 97.5 percentile
  intervals from a bootstrap over comparisons (each resampled with all its judgments);
- pairwise accuracy: of the pairs of generators the humans order (different win rates), the
  share the simulated leaderboard orders the same way (a simulated tie counts one half);
- the winner: the generator with the highest win rate on each, and whether they are the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

ALL_SIMULATED = "all simulated"
MIN_GENERATORS = 3  # fewer give no correlation worth reading


@dataclass(frozen=True)
class ItemTotals:
    """One leaderboard's judgments summed per comparison, so a bootstrap round (a weight per
    comparison) costs a few bincounts over comparisons instead of a pass over judgments."""

    gen_1: NDArray[np.int64]
    gen_2: NDArray[np.int64]
    games_1: NDArray[np.float64]  # judgments counting for gen_1
    score_1: NDArray[np.float64]
    games_2: NDArray[np.float64]
    score_2: NDArray[np.float64]

    def rates(
        self, n_generators: int, reference: int | None, weight: NDArray[np.float64] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(win rate in % per generator, NaN where it played no game; games per generator)."""
        w = np.ones(len(self.gen_1)) if weight is None else weight
        games: NDArray[np.float64] = (
            np.bincount(self.gen_1, weights=w * self.games_1, minlength=n_generators)
            + np.bincount(self.gen_2, weights=w * self.games_2, minlength=n_generators)
        ).astype(np.float64)
        scores = np.bincount(
            self.gen_1, weights=w * self.score_1, minlength=n_generators
        ) + np.bincount(self.gen_2, weights=w * self.score_2, minlength=n_generators)
        rates = np.divide(100 * scores, games, out=np.full(n_generators, np.nan), where=games > 0)
        if reference is not None:
            rates[reference] = np.nan
        return rates, games


def item_totals(
    local: NDArray[np.int64],
    n_items: int,
    item_gen_1: NDArray[np.int64],
    item_gen_2: NDArray[np.int64],
    preference: NDArray[np.float64],
    rows: NDArray[np.bool_],
    reference: int | None,
) -> ItemTotals:
    """Sum the parsed judgments of `rows` per comparison (`local` indexes the comparisons). A
    judgment gives output_2's generator p - 1 and output_1's 2 - p; with a reference generator
    only the side playing the reference counts."""
    keep = rows & ~np.isnan(preference)
    item, p = local[keep], preference[keep]
    count = np.bincount(item, minlength=n_items).astype(np.float64)
    to_2 = np.bincount(item, weights=p - 1, minlength=n_items).astype(np.float64)
    counts_1: NDArray[np.float64] = np.ones(n_items)
    counts_2: NDArray[np.float64] = np.ones(n_items)
    if reference is not None:
        counts_2 = (item_gen_1 == reference).astype(np.float64)
        counts_1 = (item_gen_2 == reference).astype(np.float64)
    return ItemTotals(
        item_gen_1,
        item_gen_2,
        count * counts_1,
        (count - to_2) * counts_1,
        count * counts_2,
        to_2 * counts_2,
    )


def leaderboard(
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    preference: NDArray[np.float64],
    n_generators: int,
    reference: int | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(win rate in % per generator, NaN where it played no game; games per generator), each
    judgment on its own."""
    n = len(preference)
    local = np.arange(n, dtype=np.int64)
    totals = item_totals(local, n, gen_1, gen_2, preference, np.ones(n, dtype=bool), reference)
    return totals.rates(n_generators, reference)


def _ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks from 1, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Spearman's rho: the Pearson correlation of the (average) ranks."""
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / denominator) if denominator > 0 else float("nan")


def kendall_tau_b(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Kendall's tau-b: (concordant - discordant) / sqrt((pairs - ties in x) (pairs - ties
    in y)), over all pairs."""
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    untied_x, untied_y = float((dx != 0).sum()), float((dy != 0).sum())
    denominator = np.sqrt(untied_x * untied_y)
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")


def _correlations(
    human: NDArray[np.float64], simulated: NDArray[np.float64]
) -> tuple[float, float]:
    both = ~np.isnan(human) & ~np.isnan(simulated)
    if both.sum() < MIN_GENERATORS:
        return float("nan"), float("nan")
    return spearman(human[both], simulated[both]), kendall_tau_b(human[both], simulated[both])


def pairwise_accuracy(human: NDArray[np.float64], simulated: NDArray[np.float64]) -> float:
    both = ~np.isnan(human) & ~np.isnan(simulated)
    h, s = human[both], simulated[both]
    i, j = np.triu_indices(len(h), k=1)
    ordered = np.sign(h[i] - h[j])
    keep = ordered != 0
    if not keep.any():
        return float("nan")
    agree = np.sign(s[i] - s[j])[keep] * ordered[keep]
    return float(np.mean(np.where(agree > 0, 1.0, np.where(agree == 0, 0.5, 0.0))))


def _winner(rates: NDArray[np.float64], names: list[str], both: NDArray[np.bool_]) -> str | None:
    if not both.any():
        return None
    masked = np.where(both, rates, -np.inf)
    return names[int(np.argmax(masked))]


def simulator_validity(
    item: NDArray[np.int64],
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    preference: NDArray[np.float64],
    annotator: NDArray[np.int64],
    is_human: NDArray[np.bool_],
    annotator_names: list[str],
    generator_names: list[str],
    reference_generator: str | None,
    *,
    rounds: int,
    seed: int,
    deadline: float | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one row per simulated leaderboard compared with the humans', the generators' win rates
    on the human and the pooled simulated leaderboard). Both empty without human and simulated
    judgments."""
    parsed = ~np.isnan(preference)
    if not (parsed & is_human).any() or not (parsed & ~is_human).any():
        return [], []
    n_gen = len(generator_names)
    reference = (
        generator_names.index(reference_generator)
        if reference_generator in generator_names
        else None
    )
    items, local = np.unique(item, return_inverse=True)
    first = np.zeros(len(items), dtype=np.int64)
    first[local] = np.arange(len(item))
    item_gen_1, item_gen_2 = gen_1[first], gen_2[first]

    def totals(rows: NDArray[np.bool_]) -> ItemTotals:
        return item_totals(local, len(items), item_gen_1, item_gen_2, preference, rows, reference)

    human_totals = totals(is_human)
    human_rates, human_games = human_totals.rates(n_gen, reference)
    boards: list[tuple[str, NDArray[np.bool_]]] = [(ALL_SIMULATED, ~is_human)]
    simulated_codes = np.unique(annotator[~is_human])
    if len(simulated_codes) > 1:
        boards += [(annotator_names[int(code)], annotator == code) for code in simulated_codes]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        draws.append(
            np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items)).astype(float)
        )
    human_samples = [human_totals.rates(n_gen, reference, weight)[0] for weight in draws]
    rows = []
    generator_rows: list[dict[str, Any]] = []
    for name, rows_of in boards:
        board = totals(rows_of)
        rates, games = board.rates(n_gen, reference)
        both = ~np.isnan(human_rates) & ~np.isnan(rates)
        rho, tau = _correlations(human_rates, rates)
        samples = [
            _correlations(human_sample, board.rates(n_gen, reference, weight)[0])
            for human_sample, weight in zip(human_samples, draws, strict=True)
        ]
        bounds = _intervals(np.array(samples).reshape(-1, 2), len(draws) == rounds)
        human_winner, simulated_winner = (
            _winner(human_rates, generator_names, both),
            _winner(rates, generator_names, both),
        )
        rows.append(
            {
                "annotator": name,
                "n_generators": int(both.sum()),
                "spearman": rho,
                "spearman_low": bounds[0][0],
                "spearman_high": bounds[0][1],
                "kendall": tau,
                "kendall_low": bounds[1][0],
                "kendall_high": bounds[1][1],
                "pairwise_accuracy": pairwise_accuracy(human_rates, rates),
                "human_winner": human_winner,
                "simulated_winner": simulated_winner,
                "same_winner": None if human_winner is None else human_winner == simulated_winner,
            }
        )
        if name == ALL_SIMULATED:
            generator_rows = [
                {
                    "generator": generator_names[g],
                    "human_win_rate": float(human_rates[g]),
                    "simulated_win_rate": float(rates[g]),
                    "human_judgments": int(human_games[g]),
                    "simulated_judgments": int(games[g]),
                }
                for g in range(n_gen)
                if both[g]
            ]
    return rows, generator_rows


def _intervals(
    samples: NDArray[np.float64], complete: bool
) -> list[tuple[float | None, float | None]]:
    """2.5 / 97.5 percentiles per column, over the rounds whose correlation is defined."""
    out: list[tuple[float | None, float | None]] = []
    for column in range(2):
        values = samples[:, column] if len(samples) else np.empty(0)
        values = values[~np.isnan(values)]
        if len(values) == 0 or (not complete and len(values) < 20):
            out.append((None, None))
        else:
            low, high = np.percentile(values, [2.5, 97.5])
            out.append((float(low), float(high)))
    return out
