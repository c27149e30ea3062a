"""Win rates per generator pair, and Bradley-Terry ratings on the Elo scale (docs/statistics.md).

A judgment p in [1, 2] gives output_2's generator a score of p - 1 (a tie is half a win; soft
preferences count as they are) and output_1's generator 2 - p.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

ELO_PER_UNIT = 400 / math.log(10)
ELO_MEAN = 1000.0
ALL_JUDGES = "all"


def _orientation(
    gen_1: NDArray[np.int64], gen_2: NDArray[np.int64], names: list[str], reference: str | None
) -> NDArray[np.bool_]:
    """True where a judgment is reported from output_1's generator's side.

    Each unordered pair is reported one way round: against the reference generator if it is in
    the pair, otherwise against the generator seen more often as output_1 (then by name)."""
    ref = names.index(reference) if reference in names else -1
    low, high = np.minimum(gen_1, gen_2), np.maximum(gen_1, gen_2)
    pair = low * len(names) + high
    unique_pairs, inverse = np.unique(pair, return_inverse=True)
    low_first = np.bincount(inverse, weights=(gen_1 == low), minlength=len(unique_pairs))
    total = np.bincount(inverse, minlength=len(unique_pairs))
    pair_low = unique_pairs // len(names)
    pair_high = unique_pairs % len(names)
    names_arr = np.array(names, dtype=object)
    low_is_opponent = (low_first > total - low_first) | (
        (low_first == total - low_first) & (names_arr[pair_low] <= names_arr[pair_high])
    )
    low_is_opponent = np.where(
        pair_low == ref, True, np.where(pair_high == ref, False, low_is_opponent)
    )
    opponent = np.where(low_is_opponent[inverse], low, high)
    flipped: NDArray[np.bool_] = gen_2 == opponent
    return flipped


def win_rate_table(
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    judge: NDArray[np.int64],
    preference: NDArray[np.float64],
    generator_names: list[str],
    judge_names: list[str],
    reference: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (judge, generator, opponent), plus rows pooling every judge.

    win_rate = 100 * mean(score), standard_error = 100 * sample sd / sqrt(n); wins, losses and
    draws count judgments leaning to the generator, to the opponent, or exactly 1.5."""
    parsed = ~np.isnan(preference)
    gen_1, gen_2, judge, p = gen_1[parsed], gen_2[parsed], judge[parsed], preference[parsed]
    if len(p) == 0:
        return []
    flipped = _orientation(gen_1, gen_2, generator_names, reference)
    generator = np.where(flipped, gen_1, gen_2)
    opponent = np.where(flipped, gen_2, gen_1)
    score = np.where(flipped, 2 - p, p - 1)
    rows: list[dict[str, Any]] = []
    n_gen = len(generator_names)
    judges = [(judge, judge_names)]
    if len(judge_names) > 1:
        judges.append((np.zeros_like(judge), [ALL_JUDGES]))
    for codes, names in judges:
        key = (codes * n_gen + generator) * n_gen + opponent
        unique, inverse = np.unique(key, return_inverse=True)
        n = np.bincount(inverse).astype(float)
        total = np.bincount(inverse, weights=score)
        mean = total / n
        squares = np.bincount(inverse, weights=(score - mean[inverse]) ** 2)
        sd = np.sqrt(np.divide(squares, n - 1, out=np.full_like(n, np.nan), where=n > 1))
        wins = np.bincount(inverse, weights=score > 0.5)
        losses = np.bincount(inverse, weights=score < 0.5)
        for k, value in enumerate(unique):
            judge_code, rest = divmod(int(value), n_gen * n_gen)
            gen_code, opp_code = divmod(rest, n_gen)
            rows.append(
                {
                    "judge": names[judge_code],
                    "generator": generator_names[gen_code],
                    "opponent": generator_names[opp_code],
                    "n": int(n[k]),
                    "win_rate": 100 * float(mean[k]),
                    "standard_error": None if n[k] < 2 else 100 * float(sd[k] / math.sqrt(n[k])),
                    "wins": int(wins[k]),
                    "losses": int(losses[k]),
                    "draws": int(n[k] - wins[k] - losses[k]),
                }
            )
    return rows


def bradley_terry(
    wins: NDArray[np.float64], *, prior: float = 0.0, tol: float = 1e-10, max_iter: int = 10_000
) -> NDArray[np.float64]:
    """Log-strengths (mean 0) from a win matrix (wins[i, j] = i's wins over j, fractional),
    by Hunter's (2004) MM iterations. `prior` adds that many tied games to every pair that met."""
    games = wins + wins.T
    w = wins + (prior / 2) * (games > 0)
    games = w + w.T
    total_wins = w.sum(axis=1)
    strength = np.ones(len(w))
    played = games.sum(axis=1) > 0
    for _ in range(max_iter):
        denominator = (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated = np.where(played, total_wins / np.where(denominator > 0, denominator, 1), 1.0)
        updated = np.maximum(updated, 1e-300)
        updated /= np.exp(np.log(updated[played]).mean()) if played.any() else 1.0
        if np.max(np.abs(np.log(updated) - np.log(strength))) < tol:
            strength = updated
            break
        strength = updated
    log_strength: NDArray[np.float64] = np.log(strength)
    return log_strength - log_strength[played].mean() if played.any() else log_strength


def to_elo(log_strength: NDArray[np.float64]) -> NDArray[np.float64]:
    elo: NDArray[np.float64] = ELO_MEAN + ELO_PER_UNIT * (log_strength - log_strength.mean())
    return elo


def _win_matrix(
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    score_2: NDArray[np.float64],
    n: NDArray[np.float64],
    weight: NDArray[np.float64],
    n_gen: int,
) -> NDArray[np.float64]:
    flat = np.bincount(gen_2 * n_gen + gen_1, weights=weight * score_2, minlength=n_gen**2).astype(
        np.float64
    )
    flat += np.bincount(gen_1 * n_gen + gen_2, weights=weight * (n - score_2), minlength=n_gen**2)
    return flat.reshape(n_gen, n_gen)


def ratings(
    item: NDArray[np.int64],
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    preference: NDArray[np.float64],
    generator_names: list[str],
    *,
    rounds: int,
    seed: int,
    prior: float = 0.01,
) -> list[dict[str, Any]]:
    """Elo-scale Bradley-Terry ratings with 95 % intervals from a bootstrap over comparisons.

    `item`, `gen_1`, `gen_2`, `preference` are per judgment; generators that never played are
    left out."""
    parsed = ~np.isnan(preference)
    if not parsed.any():
        return []
    item, p = item[parsed], preference[parsed]
    items, inverse = np.unique(item, return_inverse=True)
    first = np.zeros(len(items), dtype=np.int64)
    first[inverse] = np.flatnonzero(parsed)
    used = np.unique(np.concatenate([gen_1[first], gen_2[first]]))
    g1, g2 = np.searchsorted(used, gen_1[first]), np.searchsorted(used, gen_2[first])
    score_2 = np.bincount(inverse, weights=p - 1).astype(np.float64)
    n = np.bincount(inverse).astype(float)
    n_gen = len(used)
    point = to_elo(
        bradley_terry(_win_matrix(g1, g2, score_2, n, np.ones(len(items)), n_gen), prior=prior)
    )
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, n_gen))
    for r in range(rounds):
        weight = np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items))
        wins = _win_matrix(g1, g2, score_2, n, weight.astype(float), n_gen)
        samples[r] = to_elo(bradley_terry(wins, prior=prior))
    games = np.bincount(g1, weights=n, minlength=n_gen) + np.bincount(
        g2, weights=n, minlength=n_gen
    )
    rows = []
    for k, g in enumerate(used):
        low, high = np.percentile(samples[:, k], [2.5, 97.5]) if rounds else (None, None)
        rows.append(
            {
                "generator": generator_names[g],
                "rating": float(point[k]),
                "ci_low": None if low is None else float(low),
                "ci_high": None if high is None else float(high),
                "n_judgments": int(games[k]),
            }
        )
    return sorted(rows, key=lambda row: -row["rating"])
