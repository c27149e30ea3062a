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
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import kendalltau, spearmanr

ALL_SIMULATED = "all simulated"
MIN_GENERATORS = 3  # fewer give no correlation worth reading


def leaderboard(
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    preference: NDArray[np.float64],
    n_generators: int,
    reference: int | None,
    weight: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(win rate in % per generator, NaN where it played no game; games per generator)."""
    parsed = ~np.isnan(preference)
    w = np.ones(len(preference)) if weight is None else weight
    w = np.where(parsed, w, 0.0)
    p = np.where(parsed, preference, 1.5)
    side_2 = w if reference is None else w * (gen_1 == reference)
    side_1 = w if reference is None else w * (gen_2 == reference)
    games: NDArray[np.float64] = (
        np.bincount(gen_2, weights=side_2, minlength=n_generators)
        + np.bincount(gen_1, weights=side_1, minlength=n_generators)
    ).astype(np.float64)
    scores = np.bincount(gen_2, weights=side_2 * (p - 1), minlength=n_generators) + np.bincount(
        gen_1, weights=side_1 * (2 - p), minlength=n_generators
    )
    rates = np.divide(100 * scores, games, out=np.full(n_generators, np.nan), where=games > 0)
    if reference is not None:
        rates[reference] = np.nan
    return rates, games


def _correlations(
    human: NDArray[np.float64], simulated: NDArray[np.float64]
) -> tuple[float, float]:
    both = ~np.isnan(human) & ~np.isnan(simulated)
    if both.sum() < MIN_GENERATORS:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant list: the correlation is NaN, as reported
        rho = float(spearmanr(human[both], simulated[both]).statistic)
        tau = float(kendalltau(human[both], simulated[both]).statistic)
    return rho, tau


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
    human_rates, human_games = leaderboard(
        gen_1[is_human], gen_2[is_human], preference[is_human], n_gen, reference
    )
    boards: list[tuple[str, NDArray[np.bool_]]] = [(ALL_SIMULATED, ~is_human)]
    simulated_codes = np.unique(annotator[~is_human])
    if len(simulated_codes) > 1:
        boards += [(annotator_names[int(code)], annotator == code) for code in simulated_codes]
    items, local = np.unique(item, return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        draws.append(np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items)))
    rows = []
    generator_rows: list[dict[str, Any]] = []
    for name, rows_of in boards:
        rates, games = leaderboard(
            gen_1[rows_of], gen_2[rows_of], preference[rows_of], n_gen, reference
        )
        both = ~np.isnan(human_rates) & ~np.isnan(rates)
        rho, tau = _correlations(human_rates, rates)
        samples = []
        for counts in draws:
            weight = counts[local].astype(float)
            h, _ = leaderboard(
                gen_1[is_human],
                gen_2[is_human],
                preference[is_human],
                n_gen,
                reference,
                weight[is_human],
            )
            s, _ = leaderboard(
                gen_1[rows_of],
                gen_2[rows_of],
                preference[rows_of],
                n_gen,
                reference,
                weight[rows_of],
            )
            samples.append(_correlations(h, s))
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
