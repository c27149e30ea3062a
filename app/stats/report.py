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
from sqlalchemy import Engine

from app.db.scales import DEFAULT_SCALE, scale_named
from app.db.session import read_connection
from app.stats.calibration import calibration
from app.stats.data import (
    JudgmentArrays,
    Selection,
    load_annotators,
    load_comparisons,
    load_judgments,
)
from app.stats.evaluators import ItemFeatures, Judgments, evaluator_table
from app.stats.modes import categories
from app.stats.rankings import ratings, win_rate_table
from app.stats.raters import human_agreement_summary, ordinal_agreement_summary

TABLES = ("evaluators", "agreement", "win_rates", "ratings", "calibration")
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
    preference_scale: str = DEFAULT_SCALE,
) -> dict[str, Any]:
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
        is_human=is_human.astype(bool),
        preference=raw.preference,
        shown_swapped=raw.shown_swapped,
        cost_usd=raw.cost_usd,
        seconds=raw.seconds,
    )
    features = ItemFeatures(
        comparisons.length_1, comparisons.length_2, comparisons.has_list_1, comparisons.has_list_2
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
            gen_1, gen_2, codes, raw.preference, comparisons.generators, names, reference_generator
        ),
        "ratings": ratings(
            raw.comparison_id,
            gen_1,
            gen_2,
            raw.preference,
            comparisons.generators,
            rounds=bootstrap_rounds,
            seed=seed,
        ),
    }
    # Live calibration: each simulated annotator against the humans on comparisons both judged.
    with read_connection(engine) as connection:
        report["calibration"] = [asdict(c) for c in calibration(connection, job_id, seed).values()]
    cleaned: dict[str, Any] = _clean(report)
    return cleaned


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
        "wins",
        "losses",
        "draws",
    ],
    "ratings": ["generator", "rating", "ci_low", "ci_high", "n_judgments"],
    "calibration": ["annotator", "comparisons", "agreement", "low", "high"],
}


def table_csv(report: dict[str, Any], table: str) -> str:
    rows = report[table] if table != "agreement" else [report["agreement"]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS[table], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
