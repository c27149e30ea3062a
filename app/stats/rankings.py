"""Win rates per generator pair, and Bradley-Terry ratings on the Elo scale (docs/statistics.md).

A judgment p in [1, 2] gives output_2's generator a score of p - 1 (a tie is half a win; soft
preferences count as they are) and output_1's generator 2 - p.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

ELO_PER_UNIT = 400 / math.log(10)
ELO_MEAN = 1000.0
ALL_JUDGES = "all"
# A bootstrap cut short by the time budget gives intervals only with at least this many rounds.
MIN_BOOTSTRAP_ROUNDS = 20


def orientation(
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


def discrete_scores(score: NDArray[np.float64]) -> NDArray[np.float64]:
    """AlpacaEval's discrete win rate: a judgment leaning to a side counts as a whole win for it
    (a soft 0.8 is a win), an exact tie as half."""
    return np.where(score > 0.5, 1.0, np.where(score < 0.5, 0.0, 0.5))


def win_rate_table(
    gen_1: NDArray[np.int64],
    gen_2: NDArray[np.int64],
    judge: NDArray[np.int64],
    preference: NDArray[np.float64],
    generator_names: list[str],
    judge_names: list[str],
    reference: str | None = None,
    comparison: NDArray[np.int64] | None = None,
) -> list[dict[str, Any]]:
    """One row per (judge, generator, opponent), plus rows pooling every judge.

    win_rate = 100 * mean(score); standard_error = 100 * the standard error of that mean,
    clustered by comparison (several judgments of one comparison are not independent); with one
    judgment per comparison it is the sample sd / sqrt(n). discrete_win_rate counts each
    judgment as a whole win, loss or half (AlpacaEval's discrete win rate); wins, losses and
    draws count judgments leaning to the generator, to the opponent, or exactly 1.5."""
    parsed = ~np.isnan(preference)
    if comparison is None:
        comparison = np.arange(len(preference), dtype=np.int64)
    gen_1, gen_2, judge, p = gen_1[parsed], gen_2[parsed], judge[parsed], preference[parsed]
    comparison = comparison[parsed]
    if len(p) == 0:
        return []
    flipped = orientation(gen_1, gen_2, generator_names, reference)
    generator = np.where(flipped, gen_1, gen_2)
    opponent = np.where(flipped, gen_2, gen_1)
    score = np.where(flipped, 2 - p, p - 1)
    discrete = discrete_scores(score)
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
        standard_error = _clustered_standard_error(inverse, comparison, score - mean[inverse])
        discrete_mean = np.bincount(inverse, weights=discrete) / n
        wins = np.bincount(inverse, weights=score > 0.5)
        losses = np.bincount(inverse, weights=score < 0.5)
        for k, value in enumerate(unique):
            judge_code, rest = divmod(int(value), n_gen * n_gen)
            gen_code, opp_code = divmod(rest, n_gen)
            se = standard_error[k]
            rows.append(
                {
                    "judge": names[judge_code],
                    "generator": generator_names[gen_code],
                    "opponent": generator_names[opp_code],
                    "n": int(n[k]),
                    "win_rate": 100 * float(mean[k]),
                    "standard_error": None if np.isnan(se) else 100 * float(se),
                    "discrete_win_rate": 100 * float(discrete_mean[k]),
                    "wins": int(wins[k]),
                    "losses": int(losses[k]),
                    "draws": int(n[k] - wins[k] - losses[k]),
                }
            )
    return rows


def _clustered_standard_error(
    group: NDArray[np.int64], cluster: NDArray[np.int64], residual: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per group, the cluster-robust standard error of its mean (Liang-Zeger with the
    G / (G - 1) factor): sqrt(G / (G - 1) * sum over clusters of (sum of residuals)^2) / n.
    NaN for a group with fewer than two clusters."""
    pair = group.astype(np.int64) * (int(cluster.max()) + 1) + (cluster - cluster.min())
    cells, cell_index = np.unique(pair, return_inverse=True)
    cell_sum = np.bincount(cell_index, weights=residual)
    cell_group = cells // (int(cluster.max()) + 1)
    n_groups = int(group.max()) + 1
    clusters = np.bincount(cell_group, minlength=n_groups).astype(float)
    squares = np.bincount(cell_group, weights=cell_sum**2, minlength=n_groups)
    n = np.bincount(group, minlength=n_groups).astype(float)
    factor = np.divide(clusters, clusters - 1, out=np.full(n_groups, np.nan), where=clusters > 1)
    result: NDArray[np.float64] = np.sqrt(factor * squares) / n
    return result


@dataclass(frozen=True)
class BradleyTerryFit:
    """Log-strengths (mean 0 within each connected group of generators), the group of each
    generator, the Newton iterations used, and whether the fit reached its tolerance."""

    log_strength: NDArray[np.float64]
    component: NDArray[np.int64]
    iterations: int
    converged: bool

    @property
    def n_components(self) -> int:
        played = self.component >= 0
        return len(np.unique(self.component[played])) if played.any() else 0


def comparison_components(games: NDArray[np.float64]) -> NDArray[np.int64]:
    """The connected group of each generator in the graph of pairs that met; -1 for a generator
    that never played."""
    met = games > 0
    component = np.full(len(games), -1, dtype=np.int64)
    label = 0
    for start in range(len(games)):
        if component[start] >= 0 or not met[start].any():
            continue
        stack = [start]
        component[start] = label
        while stack:
            node = stack.pop()
            for other in np.flatnonzero(met[node] & (component < 0)):
                component[other] = label
                stack.append(int(other))
        label += 1
    return component


def fit_bradley_terry(
    wins: NDArray[np.float64], *, prior: float = 0.0, tol: float = 1e-10, max_iter: int = 100
) -> BradleyTerryFit:
    """Maximum-likelihood Bradley-Terry by Newton's method with a backtracking line search.

    wins[i, j] = i's wins over j (fractional). `prior` adds that many tied games to every pair
    that met, which keeps the estimate finite when a generator won or lost every game. The
    log-likelihood is concave, so Newton converges in a handful of iterations even on sparse,
    one-sided data. Groups of generators that never met one another cannot be placed on one
    scale: each group is fitted on its own, centred at 0, and reported in `component`."""
    games = wins + wins.T
    w = wins + (prior / 2) * (games > 0)
    games = w + w.T
    total_wins = w.sum(axis=1)
    component = comparison_components(games)
    played = component >= 0
    theta = np.zeros(len(w))
    n_groups = int(component.max()) + 1 if played.any() else 0
    # Each group's ratings are only defined up to a constant: pin the group's mean with a
    # rank-one term, which leaves the Newton step inside the group's sum-zero subspace.
    pin = np.zeros((len(w), len(w)))
    for group in range(n_groups):
        members = component == group
        pin[np.ix_(members, members)] = 1.0 / members.sum()
    pin[~played, ~played] = 1.0

    def log_likelihood(t: NDArray[np.float64]) -> float:
        diff = t[:, None] - t[None, :]
        return float((w * -np.logaddexp(0.0, -diff)).sum())

    current = log_likelihood(theta)
    converged = not played.any()
    iterations = 0
    while not converged and iterations < max_iter:
        iterations += 1
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        gradient = total_wins - (games * p).sum(axis=1)
        curvature = games * p * p.T
        laplacian = np.diag(curvature.sum(axis=1)) - curvature
        step = np.linalg.solve(laplacian + pin, gradient)
        size = 1.0
        while size > 1e-12:
            trial = theta + size * step
            value = log_likelihood(trial)
            if value >= current - 1e-12 * abs(current):
                break
            size /= 2
        theta, current = trial, value
        converged = float(np.max(np.abs(size * step))) < tol
    for group in range(n_groups):
        members = component == group
        theta[members] -= theta[members].mean()
    theta[~played] = 0.0
    return BradleyTerryFit(theta, component, iterations, converged)


def bradley_terry(
    wins: NDArray[np.float64], *, prior: float = 0.0, tol: float = 1e-10, max_iter: int = 100
) -> NDArray[np.float64]:
    """Log-strengths (mean 0 within each connected group) from a win matrix: see
    fit_bradley_terry."""
    return fit_bradley_terry(wins, prior=prior, tol=tol, max_iter=max_iter).log_strength


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


@dataclass(frozen=True)
class RatingsSummary:
    """How the ratings were fitted: Newton iterations and convergence of the point estimate,
    the connected groups of generators, and the bootstrap rounds actually run."""

    iterations: int
    converged: bool
    components: int
    bootstrap_rounds: int
    bootstrap_stopped_early: bool

    def describe(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "converged": self.converged,
            "connected": self.components <= 1,
            "components": self.components,
            "bootstrap_rounds": self.bootstrap_rounds,
            "bootstrap_stopped_early": self.bootstrap_stopped_early,
        }


NO_RATINGS = RatingsSummary(0, True, 0, 0, False)


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
    deadline: float | None = None,
) -> tuple[list[dict[str, Any]], RatingsSummary]:
    """Elo-scale Bradley-Terry ratings with 95 % intervals from a bootstrap over comparisons.

    `item`, `gen_1`, `gen_2`, `preference` are per judgment; generators that never played are
    left out. The bootstrap stops at `deadline` (time.monotonic()) with the rounds it has; the
    intervals need at least MIN_BOOTSTRAP_ROUNDS of them."""
    parsed = ~np.isnan(preference)
    if not parsed.any():
        return [], NO_RATINGS
    item, p = item[parsed], preference[parsed]
    items, inverse = np.unique(item, return_inverse=True)
    first = np.zeros(len(items), dtype=np.int64)
    first[inverse] = np.flatnonzero(parsed)
    used = np.unique(np.concatenate([gen_1[first], gen_2[first]]))
    g1, g2 = np.searchsorted(used, gen_1[first]), np.searchsorted(used, gen_2[first])
    score_2 = np.bincount(inverse, weights=p - 1).astype(np.float64)
    n = np.bincount(inverse).astype(float)
    n_gen = len(used)
    fit = fit_bradley_terry(
        _win_matrix(g1, g2, score_2, n, np.ones(len(items)), n_gen), prior=prior
    )
    point = _group_elo(fit.log_strength, fit.component)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, n_gen))
    done = 0
    for r in range(rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        weight = np.bincount(rng.integers(0, len(items), len(items)), minlength=len(items))
        wins = _win_matrix(g1, g2, score_2, n, weight.astype(float), n_gen)
        resampled = fit_bradley_terry(wins, prior=prior)
        # A resample can lose a generator's every game: it has no rating in that round.
        samples[r] = np.where(
            resampled.component >= 0, _group_elo(resampled.log_strength, fit.component), np.nan
        )
        done += 1
    samples = samples[:done]
    games = np.bincount(g1, weights=n, minlength=n_gen) + np.bincount(
        g2, weights=n, minlength=n_gen
    )
    # Intervals from the rounds asked for, or from enough of them when time ran out.
    with_intervals = done > 0 and (done == rounds or done >= MIN_BOOTSTRAP_ROUNDS)
    rows = []
    for k, g in enumerate(used):
        column = samples[:, k][~np.isnan(samples[:, k])]
        low, high = (
            np.percentile(column, [2.5, 97.5]) if with_intervals and len(column) else (None, None)
        )
        rows.append(
            {
                "generator": generator_names[g],
                "rating": float(point[k]),
                "ci_low": None if low is None else float(low),
                "ci_high": None if high is None else float(high),
                "n_judgments": int(games[k]),
                "group": int(fit.component[k]) + 1,
            }
        )
    summary = RatingsSummary(fit.iterations, fit.converged, fit.n_components, done, done < rounds)
    return sorted(rows, key=lambda row: (row["group"], -row["rating"])), summary


def _group_elo(
    log_strength: NDArray[np.float64], component: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Elo scale with mean 1000 within each connected group (groups are not comparable)."""
    elo = ELO_MEAN + ELO_PER_UNIT * log_strength
    for group in np.unique(component[component >= 0]):
        members = component == group
        elo[members] -= elo[members].mean() - ELO_MEAN
    result: NDArray[np.float64] = elo
    return result
