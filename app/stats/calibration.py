"""How far each simulated annotator of a job agrees with its human raters, on the comparisons
both judged (the calibration slice and escalated comparisons).

Agreement is AlpacaEval's: a judgment p scores 1 - |p - m| against the reference m of the human
labels (their mode, or median when soft), found by stats.modes as in the evaluator table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator, Comparison, Job
from app.stats.data import Selection
from app.stats.modes import reference_labels
from app.stats.scores import agreement_score


@dataclass(frozen=True)
class Calibration:
    annotator: str
    comparisons: int
    agreement: float
    # Normal-approximation 95 % interval of the mean score, clipped to [0, 1].
    low: float
    high: float


def human_modes(seed: int, human_preferences: dict[int, list[float]]) -> dict[int, float]:
    """The humans' reference label of each comparison, as in the evaluator table
    (stats.modes.reference_labels: the mode, ties broken by the seed; the median if soft)."""
    ids = np.array(sorted(human_preferences), dtype=np.int64)
    item = (
        np.concatenate(
            [np.full(len(human_preferences[cid]), k) for k, cid in enumerate(ids)]
        ).astype(np.int64)
        if len(ids)
        else np.empty(0, dtype=np.int64)
    )
    preference = np.array([p for cid in ids for p in human_preferences[int(cid)]], dtype=float)
    references = reference_labels(item, preference, len(ids), ids, seed)
    return dict(zip(ids.tolist(), references.tolist(), strict=True))


def calibration(reader: Session | Connection, job_id: int, seed: int) -> dict[str, Calibration]:
    rows = reader.execute(
        select(Annotation.comparison_id, Annotator.name, Annotator.kind, Annotation.preference)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .join(Comparison, Comparison.id == Annotation.comparison_id)
        .where(
            Annotation.job_id == job_id,
            Annotation.preference.is_not(None),
            Comparison.route == "both",
        )
    ).all()
    humans: dict[int, list[float]] = defaultdict(list)
    simulated: list[tuple[int, str, float]] = []
    for comparison_id, name, kind, stored in rows:
        preference = cast(float, stored)  # judgments without a preference are not read
        if kind == "human":
            humans[comparison_id].append(preference)
        else:
            simulated.append((comparison_id, name, preference))
    mode_of = human_modes(seed, humans)
    scores: dict[str, list[float]] = defaultdict(list)
    for comparison_id, name, preference in simulated:
        if comparison_id in mode_of:
            scores[name].append(agreement_score(preference, mode_of[comparison_id]))
    return {name: _summary(name, values) for name, values in scores.items()}


def below_agreement_floor_excluded(session: Session, job: Job, selection: Selection) -> Selection:
    """The selection, less the simulated annotators whose human agreement is below the job's
    `export_agreement_floor` (annotators not yet calibrated are kept)."""
    floor = job.routing.get("export_agreement_floor")
    if floor is None:
        return selection
    below = tuple(
        sorted(
            name
            for name, measured in calibration(session, job.id, job.seed).items()
            if measured.agreement < floor
        )
    )
    return replace(selection, excluded_annotators=selection.excluded_annotators + below)


def _summary(name: str, values: list[float]) -> Calibration:
    n = len(values)
    mean = sum(values) / n
    spread = 0.0
    if n > 1:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        spread = 1.96 * sd / math.sqrt(n)
    return Calibration(name, n, mean, max(0.0, mean - spread), min(1.0, mean + spread))
