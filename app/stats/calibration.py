"""How far each simulated annotator of a job agrees with its human raters, on the comparisons
both judged (the calibration slice and escalated comparisons).

Agreement is AlpacaEval's: a judgment p scores 1 - |p - m| against the mode m of the human
labels (1, 1.5 or 2); a tie between modes is broken by a seeded draw.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.annotators.seeding import unit_interval
from app.db.models import Annotation, Annotator, Comparison, Job
from app.stats.data import Selection

_LABEL_VALUES = (1.0, 1.5, 2.0)


@dataclass(frozen=True)
class Calibration:
    annotator: str
    comparisons: int
    agreement: float
    # Normal-approximation 95 % interval of the mean score, clipped to [0, 1].
    low: float
    high: float


def _label(preference: float) -> float:
    return 1.0 if preference < 1.5 else (2.0 if preference > 1.5 else 1.5)


def human_mode(seed: int, comparison_id: int, labels: list[float]) -> float:
    counts = Counter(labels)
    top = max(counts.values())
    tied = [value for value in _LABEL_VALUES if counts.get(value) == top]
    return tied[int(unit_interval("mode", seed, comparison_id) * len(tied))]


def calibration(session: Session, job_id: int, seed: int) -> dict[str, Calibration]:
    rows = session.execute(
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
    for comparison_id, name, kind, preference in rows:
        if kind == "human":
            humans[comparison_id].append(_label(preference))
        else:
            simulated.append((comparison_id, name, preference))
    modes = {cid: human_mode(seed, cid, labels) for cid, labels in humans.items()}
    scores: dict[str, list[float]] = defaultdict(list)
    for comparison_id, name, preference in simulated:
        if comparison_id in modes:
            scores[name].append(1 - abs(preference - modes[comparison_id]))
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
