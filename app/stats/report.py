"""The full statistics of a job: evaluators, agreement among humans, win rates, ratings."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, fields
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from app.db.scales import DEFAULT_SCALE, scale_named
from app.db.session import read_connection
from app.stats.calibration import calibration
from app.stats.data import (
    ComparisonArrays,
    JudgmentArrays,
    Selection,
    load_annotators,
    load_comparisons,
    load_judgments,
)
from app.stats.evaluators import ItemFeatures, Judgments, evaluator_table
from app.stats.length_control import length_controlled_table
from app.stats.modes import categories
from app.stats.rankings import orientation, ratings, win_rate_table
from app.stats.raters import human_agreement_summary, ordinal_agreement_summary
from app.stats.validity import simulator_validity

TABLES = (
    "evaluators",
    "agreement",
    "win_rates",
    "length_controlled",
    "ratings",
    "calibration",
    "simulator_validity",
    "simulator_leaderboards",
)
T = TypeVar("T")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _read(engine: Engine, load: Callable[..., T], *args: Any) -> T:
    with read_connection(engine) as connection:
        return load(connection, *args)


def job_statistics(
    engine: Engine,
    job_id: int,
    selection: Selection,
    *,
    seed: int,
    reference_generator: str | None,
    bootstrap_rounds: int,
    deadline: float | None = None,
    preference_scale: str = DEFAULT_SCALE,
) -> dict[str, Any]:
    """Every table of docs/statistics.md. The rating bootstrap stops at `deadline`
    (time.monotonic()) with the rounds it has run."""
    # The two reads are mostly database time: run them side by side on two connections.
    with ThreadPoolExecutor(max_workers=2) as pool:
        comparisons_read = pool.submit(_read, engine, load_comparisons, job_id, selection.gold)
        raw = _read(engine, load_judgments, job_id, selection)
        comparisons = comparisons_read.result()
    # A judgment stored after the comparisons were read has no comparison here: leave it out.
    position = np.searchsorted(comparisons.ids, raw.comparison_id)
    known = position < len(comparisons.ids)
    known[known] = comparisons.ids[position[known]] == raw.comparison_id[known]
    if not known.all():
        raw = JudgmentArrays(*(getattr(raw, f.name)[known] for f in fields(JudgmentArrays)))
    with read_connection(engine) as connection:
        annotators = load_annotators(connection, raw.annotator_id)
    annotator_ids = sorted(annotators)
    codes = np.searchsorted(np.array(annotator_ids, dtype=np.int64), raw.annotator_id)
    names = [annotators[i][0] for i in annotator_ids]
    kinds = [annotators[i][1] for i in annotator_ids]
    is_human = np.array(kinds, dtype=object)[codes] == "human" if len(codes) else np.zeros(0, bool)
    item = np.searchsorted(comparisons.ids, raw.comparison_id)
    judgments = Judgments(
        item=item,
        item_key=raw.comparison_id,
        annotator=codes,
        repeat=raw.repeat,
        is_human=is_human.astype(bool),
        preference=raw.preference,
        shown_swapped=raw.shown_swapped,
        cost_usd=raw.cost_usd,
        seconds=raw.seconds,
    )
    features = ItemFeatures(
        comparisons.length_1,
        comparisons.length_2,
        comparisons.has_list_1,
        comparisons.has_list_2,
    )
    human = judgments.is_human
    gen_1, gen_2 = comparisons.generator_1[item], comparisons.generator_2[item]
    report = {
        "job_id": job_id,
        "filters": selection.describe(),
        "seed": seed,
        "bootstrap_rounds": bootstrap_rounds,
        "reference_generator": reference_generator,
        "counts": {
            "judgments": len(raw.preference),
            "parsed": int((~np.isnan(raw.preference)).sum()),
            "comparisons_judged": len(np.unique(item)),
            "annotators": len(names),
        },
        "evaluators": evaluator_table(judgments, features, names, kinds, seed),
        "agreement": {
            **human_agreement_summary(codes[human], item[human], categories(raw.preference[human])),
            **_ordinal_agreement(preference_scale, codes[human], item[human], raw.ordinal[human]),
        },
        "win_rates": win_rate_table(
            gen_1,
            gen_2,
            codes,
            raw.preference,
            comparisons.generators,
            names,
            reference_generator,
            comparison=raw.comparison_id,
        ),
    }
    report["length_controlled"] = _length_controlled(
        comparisons, item, codes, raw.preference, names, reference_generator, report, deadline
    )
    report["ratings"], fit = ratings(
        raw.comparison_id,
        gen_1,
        gen_2,
        raw.preference,
        comparisons.generators,
        rounds=bootstrap_rounds,
        seed=seed,
        deadline=deadline,
    )
    report["ratings_fit"] = fit.describe()
    report["simulator_validity"], report["simulator_leaderboards"] = simulator_validity(
        raw.comparison_id,
        gen_1,
        gen_2,
        raw.preference,
        codes,
        judgments.is_human,
        names,
        comparisons.generators,
        reference_generator,
        rounds=bootstrap_rounds,
        seed=seed,
        deadline=deadline,
    )
    # Live calibration: each simulated annotator against the humans on comparisons both judged.
    with read_connection(engine) as connection:
        report["calibration"] = [asdict(c) for c in calibration(connection, job_id, seed).values()]
    cleaned: dict[str, Any] = _clean(report)
    return cleaned


def _length_controlled(
    comparisons: ComparisonArrays,
    item: NDArray[np.int64],
    judge: NDArray[np.int64],
    preference: NDArray[np.float64],
    judge_names: list[str],
    reference_generator: str | None,
    report: dict[str, Any],
    deadline: float | None,
) -> list[dict[str, Any]]:
    """Length-controlled win rates of the win-rate rows of each judge, in comparison order."""
    parsed = ~np.isnan(preference)
    order = np.flatnonzero(parsed)[np.argsort(item[parsed], kind="stable")]
    item, judge, p = item[order], judge[order], preference[order]
    gen_1, gen_2 = comparisons.generator_1[item], comparisons.generator_2[item]
    flipped = orientation(gen_1, gen_2, comparisons.generators, reference_generator)
    length_1, length_2 = comparisons.length_1[item], comparisons.length_2[item]
    return length_controlled_table(
        report["win_rates"],
        judge,
        np.where(flipped, gen_1, gen_2),
        np.where(flipped, gen_2, gen_1),
        np.where(flipped, 2 - p, p - 1),
        np.where(flipped, length_1, length_2),
        np.where(flipped, length_2, length_1),
        comparisons.instruction[item],
        judge_names,
        comparisons.generators,
        deadline,
        comparisons.difficulty[item],
    )


def _ordinal_agreement(scale_name: str, rater: Any, item: Any, ordinal: Any) -> dict[str, Any]:
    """Ordinal coefficients where the job's scale is graded (null on the binary scale)."""
    scale = scale_named(scale_name)
    summary: dict[str, Any] = {"scale": scale.name}
    if not scale.graded:
        return {**summary, "krippendorff_alpha_ordinal": None, "weighted_kappa": None}
    positions = scale.ordinal_positions()
    rank = np.where(np.isnan(ordinal), -1, np.nan_to_num(ordinal) - positions[0]).astype(np.int64)
    return {**summary, **ordinal_agreement_summary(rater, item, rank, len(positions))}


# The columns of each table, so an empty table still has its header.
COLUMNS = {
    "evaluators": [
        "annotator",
        "kind",
        "n_judgments",
        "human_agreement",
        "n_agreement",
        "price_per_1000_usd",
        "seconds_per_1000",
        "bias",
        "variance",
        "p_prefers_output_1",
        "p_prefers_shown_first",
        "p_prefers_longer",
        "p_prefers_lists",
        "share_parsed",
    ],
    "agreement": [
        "n_raters",
        "n_items",
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "fleiss_items",
        "krippendorff_alpha",
        "gwet_ac1",
        "scale",
        "krippendorff_alpha_ordinal",
        "weighted_kappa",
    ],
    "win_rates": [
        "judge",
        "generator",
        "opponent",
        "n",
        "win_rate",
        "standard_error",
        "discrete_win_rate",
        "wins",
        "losses",
        "draws",
    ],
    "ratings": ["generator", "rating", "ci_low", "ci_high", "n_judgments", "group"],
    "length_controlled": [
        "judge",
        "generator",
        "opponent",
        "n",
        "win_rate",
        "discrete_win_rate",
        "lc_win_rate",
        "lc_standard_error",
        "weight_length",
        "weight_difficulty",
        "weight_intercept",
        "difficulty",
    ],
    "calibration": ["annotator", "comparisons", "agreement", "low", "high"],
    "simulator_validity": [
        "annotator",
        "n_generators",
        "spearman",
        "spearman_low",
        "spearman_high",
        "kendall",
        "kendall_low",
        "kendall_high",
        "pairwise_accuracy",
        "human_winner",
        "simulated_winner",
        "same_winner",
    ],
    "simulator_leaderboards": [
        "generator",
        "human_win_rate",
        "simulated_win_rate",
        "human_judgments",
        "simulated_judgments",
    ],
}


def table_csv(report: dict[str, Any] | None, table: str) -> str:
    """One table as CSV; no report (not computed yet) gives the header alone."""
    if report is None:
        rows: list[dict[str, Any]] = []
    else:
        rows = report[table] if table != "agreement" else [report["agreement"]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS[table], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
