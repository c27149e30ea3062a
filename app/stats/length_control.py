"""Length-controlled win rates, AlpacaEval 2's headline metric (docs/statistics.md).

For each judge, generator and opponent, a logistic regression of the judge's preference for the
generator on three features (AlpacaEval's `length_controlled_noreg` GLM):

    tanh(normalised length difference) + instruction difficulty + intercept

with soft preferences as probabilistic targets, an L1 penalty whose strength is chosen by 5-fold
cross-validation grouped by judgment, and no intercept beyond the constant feature. The
length-controlled win rate is the model's mean predicted preference with the length difference
set to zero; its standard error is the standard error of those predictions (AlpacaEval's
`lc_standard_error`).

The instruction difficulty of instruction x is taken from an imported table (each comparison's
`metadata.instruction_difficulty`, e.g. AlpacaEval's published one) when every comparison has
it, else estimated from the job's own judgments: the logit of the smoothed share of wins,
(wins + 1/2) / (judgments + 1), of every generator the judge compared with this opponent on x.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

N_FOLDS = 5
C_GRID = np.logspace(-4, 4, 10)  # scikit-learn's LogisticRegressionCV default (Cs=10)
MIN_JUDGMENTS = 10
CLIP = 1e-15
MAX_NEWTON_STEPS = 50
MAX_SWEEPS = 100


@dataclass(frozen=True)
class LengthControlled:
    win_rate: float
    standard_error: float
    weights: dict[str, float]
    c: float


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.exp(-np.logaddexp(0.0, -z))
    return result


def _objective(
    x: NDArray[np.float64], target: NDArray[np.float64], c: float, w: NDArray[np.float64]
) -> float:
    z = x @ w
    loss = target * np.logaddexp(0.0, -z) + (1 - target) * np.logaddexp(0.0, z)
    return float(np.abs(w).sum() + c * loss.sum())


def fit_l1_logistic(
    x: NDArray[np.float64],
    target: NDArray[np.float64],
    c: float,
    tol: float = 1e-12,
    start: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """argmin_w ||w||_1 + c * sum_i CE(target_i, sigmoid(x_i . w)): liblinear's L1-penalised
    logistic regression with soft targets (each row a positive of weight target and a negative
    of weight 1 - target), solved to `tol` by proximal Newton steps (coordinate descent on each
    quadratic model, then a backtracking line search)."""
    k = x.shape[1]
    w = np.zeros(k) if start is None else start.copy()
    current = _objective(x, target, c, w)
    for _ in range(MAX_NEWTON_STEPS):
        q = _sigmoid(x @ w)
        gradient = c * (x.T @ (q - target))
        hessian = c * (x.T * (q * (1 - q))) @ x + 1e-12 * np.eye(k)
        d = np.zeros(k)
        g, h, diagonal = gradient.tolist(), hessian.tolist(), np.diag(hessian).tolist()
        weights, step_of = w.tolist(), [0.0] * k
        for _ in range(MAX_SWEEPS):  # coordinate descent on the penalised quadratic model
            change = 0.0
            for j in range(k):
                slope = g[j] + sum(h[j][i] * step_of[i] for i in range(k) if i != j)
                # minimise 0.5 h z^2 + slope z + |w_j + z| over z: soft thresholding
                u = weights[j] - slope / diagonal[j]
                shrunk = math.copysign(max(abs(u) - 1 / diagonal[j], 0.0), u)
                change = max(change, abs(shrunk - weights[j] - step_of[j]))
                step_of[j] = shrunk - weights[j]
            if change < tol:
                break
        d = np.array(step_of)
        step = 1.0
        while step > 1e-10:
            trial = w + step * d
            value = _objective(x, target, c, trial)
            if value <= current:
                break
            step /= 2
        else:
            break
        improvement = current - value
        w, current = trial, value
        if np.max(np.abs(step * d)) < tol or improvement <= 1e-15 * abs(current):
            break
    return w


def _cross_entropy(target: NDArray[np.float64], predicted: NDArray[np.float64]) -> float:
    q = np.clip(predicted, CLIP, 1 - CLIP)
    return float(-np.mean(target * np.log(q) + (1 - target) * np.log(1 - q)))


def length_controlled_win_rate(
    preference_for_model: NDArray[np.float64],
    length_model: NDArray[np.float64],
    length_opponent: NDArray[np.float64],
    difficulty: NDArray[np.float64],
) -> LengthControlled | None:
    """The length-controlled win rate (in %) of a generator against an opponent from one
    judge's judgments (preference in [0, 1] for the generator, per judgment). None with fewer
    than MIN_JUDGMENTS judgments or no variation in length."""
    n = len(preference_for_model)
    if n < max(MIN_JUDGMENTS, N_FOLDS):
        return None
    delta = length_opponent - length_model
    spread = float(np.std(delta, ddof=1))
    if not spread > 0:
        return None
    x = np.column_stack([np.tanh(delta / spread), difficulty, np.ones(n)])
    y = preference_for_model
    # scikit-learn's GroupKFold with one group per judgment: judgment i (in the order given)
    # is in fold (n - 1 - i) mod 5.
    fold = (n - 1 - np.arange(n)) % N_FOLDS
    scores = np.zeros(len(C_GRID))
    for k in range(N_FOLDS):
        train, test = fold != k, fold == k
        w = np.zeros(3)
        for index, c in enumerate(C_GRID):  # along the path, each fit starts at the last
            w = fit_l1_logistic(x[train], y[train], c, start=w)
            scores[index] -= _cross_entropy(y[test], _sigmoid(x[test] @ w))
    best = int(np.argmax(scores))
    w = fit_l1_logistic(x, y, float(C_GRID[best]))
    at_equal_length = _sigmoid(x[:, 1] * w[1] + w[2])
    return LengthControlled(
        win_rate=100 * float(at_equal_length.mean()),
        standard_error=100 * float(at_equal_length.std(ddof=1) / math.sqrt(n)),
        weights={"length": float(w[0]), "difficulty": float(w[1]), "intercept": float(w[2])},
        c=float(C_GRID[best]),
    )


def instruction_difficulty(
    instruction: NDArray[np.int64], score: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per judgment, the logit of the smoothed share of wins on its instruction:
    log((wins + 1/2) / (losses + 1/2)), wins and losses summing the scores given."""
    _, local = np.unique(instruction, return_inverse=True)
    wins = np.bincount(local, weights=score)
    count = np.bincount(local).astype(float)
    share = (wins + 0.5) / (count + 1)
    logit: NDArray[np.float64] = np.log(share / (1 - share))[local]
    return logit


def length_controlled_table(
    rows: list[dict[str, Any]],
    judge: NDArray[np.int64],
    generator: NDArray[np.int64],
    opponent: NDArray[np.int64],
    score: NDArray[np.float64],
    length_generator: NDArray[np.float64],
    length_opponent: NDArray[np.float64],
    instruction: NDArray[np.int64],
    judge_names: list[str],
    generator_names: list[str],
    deadline: float | None = None,
    imported_difficulty: NDArray[np.float64] | None = None,
) -> list[dict[str, Any]]:
    """One row per win-rate row of a single judge: the length-controlled win rate, its standard
    error and the fitted weights (null when there is too little data, or when time ran out).
    `imported_difficulty` (per judgment, NaN where none was posted) is used for a judge and
    opponent when every one of their judgments has it; otherwise difficulty is estimated."""
    out = []
    code_of_judge = {name: k for k, name in enumerate(judge_names)}
    code_of_generator = {name: k for k, name in enumerate(generator_names)}
    difficulty_cache: dict[tuple[int, int], tuple[NDArray[np.float64], str]] = {}
    for row in rows:
        if row["judge"] not in code_of_judge:
            continue  # the pooled rows
        j = code_of_judge[row["judge"]]
        g, o = code_of_generator[row["generator"]], code_of_generator[row["opponent"]]
        if (j, o) not in difficulty_cache:
            against = (judge == j) & (opponent == o)
            posted = None if imported_difficulty is None else imported_difficulty[against]
            full = np.full(len(score), np.nan)
            if posted is not None and not np.isnan(posted).any():
                full[against] = posted
                difficulty_cache[(j, o)] = (full, "imported")
            else:
                full[against] = instruction_difficulty(instruction[against], score[against])
                difficulty_cache[(j, o)] = (full, "estimated")
        difficulty, source = difficulty_cache[(j, o)]
        mine = (judge == j) & (generator == g) & (opponent == o)
        fitted = None
        if deadline is None or time.monotonic() < deadline:
            fitted = length_controlled_win_rate(
                score[mine],
                length_generator[mine],
                length_opponent[mine],
                difficulty[mine],
            )
        out.append(
            {
                "judge": row["judge"],
                "generator": row["generator"],
                "opponent": row["opponent"],
                "n": int(mine.sum()),
                "win_rate": row["win_rate"],
                "discrete_win_rate": row["discrete_win_rate"],
                "lc_win_rate": None if fitted is None else fitted.win_rate,
                "lc_standard_error": None if fitted is None else fitted.standard_error,
                "weight_length": None if fitted is None else fitted.weights["length"],
                "weight_difficulty": None if fitted is None else fitted.weights["difficulty"],
                "weight_intercept": None if fitted is None else fitted.weights["intercept"],
                "difficulty": source,
            }
        )
    return out
