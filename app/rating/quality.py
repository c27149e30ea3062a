"""Rater quality: gold accuracy, agreement with other raters, time on task; flags and
automatic pausing.

Scores follow docs/statistics.md: a judgment p scored against a reference r earns 1 - |p - r|
(a tie against a decisive answer earns 0.5). Gold accuracy is the mean score against the gold
preference; agreement is the mean score over every pair of this rater and another human rater
judging the same comparison. Time on task is the server's serve-to-submit time less the idle
time the page reported; its distribution per rater is binned by TIME_BINS.

Flags, per job setting: gold accuracy below the job's floor (after its minimum of gold items),
and more than the job's share of judgments quicker than its too-fast time (after
MIN_TIMED_JUDGMENTS judgments).
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.db.models import Annotation, Annotator, Assignment, Comparison, User
from app.rating.settings import HumanSettings
from app.stats.scores import agreement_score

# Upper edges of the time-on-task bins, in seconds; the last bin is everything above.
TIME_BINS = (3.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TIME_BIN_LABELS = ("< 3 s", "3-10 s", "10-30 s", "30-60 s", "1-2 min", "2-5 min", "5 min +")
MIN_TIMED_JUDGMENTS = 10


def time_histogram(seconds: list[float]) -> list[int]:
    counts = [0] * (len(TIME_BINS) + 1)
    for value in seconds:
        counts[bisect.bisect_right(TIME_BINS, value)] += 1
    return counts


def _quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class TimeOnTask:
    judgments: int  # with a time
    p10: float
    median: float
    p90: float
    histogram: list[int]  # counts per TIME_BINS bin


def time_on_task(seconds: list[float]) -> TimeOnTask | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return TimeOnTask(
        judgments=len(ordered),
        p10=_quantile(ordered, 0.1),
        median=_quantile(ordered, 0.5),
        p90=_quantile(ordered, 0.9),
        histogram=time_histogram(ordered),
    )


@dataclass(frozen=True)
class RaterQuality:
    user_id: int
    email: str
    paused: bool
    judgments: int
    gold_items: int
    gold_accuracy: float | None
    agreement: float | None
    agreement_pairs: int
    median_seconds: float | None
    too_fast_share: float | None
    too_fast_seconds: float  # the job's too-fast time the share is counted against
    time: TimeOnTask | None
    flags: list[str]


def _flags(
    human: HumanSettings, gold: list[float], seconds: list[float], too_fast: float | None
) -> list[str]:
    flags = []
    floor = human.gold_accuracy_floor
    if floor is not None and len(gold) >= human.gold_min_items and statistics.fmean(gold) < floor:
        flags.append(f"gold accuracy below the floor of {floor:.0%}")
    limit = human.too_fast_share
    if (
        limit is not None
        and too_fast is not None
        and len(seconds) >= MIN_TIMED_JUDGMENTS
        and too_fast > limit
    ):
        flags.append(
            f"too fast: {too_fast:.0%} of judgments under {human.too_fast_seconds:g} s "
            f"(more than {limit:.0%})"
        )
    return flags


def job_quality(
    session: Session, job_id: int, human: HumanSettings, user_id: int | None = None
) -> list[RaterQuality]:
    """Quality figures of every human rater who judged in this job (or of one rater), with the
    flags the job's settings raise."""
    rows = session.execute(
        select(
            User.id,
            User.email,
            User.paused_at,
            Annotation.comparison_id,
            Annotation.preference,
            Annotation.seconds_on_task,
            Comparison.gold_preference,
        )
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .join(User, User.id == Annotator.user_id)
        .join(Comparison, Comparison.id == Annotation.comparison_id)
        .where(
            Annotation.job_id == job_id,
            Annotator.kind == "human",
            Annotation.preference.is_not(None),
        )
    ).all()
    by_comparison: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        by_comparison[row.comparison_id].append((row.id, row.preference))
    pair_scores: dict[int, list[float]] = defaultdict(list)
    for judgments in by_comparison.values():
        for rater, preference in judgments:
            pair_scores[rater].extend(
                agreement_score(preference, other) for who, other in judgments if who != rater
            )

    per_rater: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        if user_id is None or row.id == user_id:
            per_rater[row.id].append(row)
    figures = []
    for rater_id, rater_rows in sorted(per_rater.items(), key=lambda item: item[1][0].email):
        gold = [
            agreement_score(j.preference, j.gold_preference)
            for j in rater_rows
            if j.gold_preference
        ]
        seconds = [j.seconds_on_task for j in rater_rows if j.seconds_on_task is not None]
        too_fast = (
            sum(s < human.too_fast_seconds for s in seconds) / len(seconds) if seconds else None
        )
        pairs = pair_scores.get(rater_id, [])
        figures.append(
            RaterQuality(
                user_id=rater_id,
                email=rater_rows[0].email,
                paused=rater_rows[0].paused_at is not None,
                judgments=len(rater_rows),
                gold_items=len(gold),
                gold_accuracy=statistics.fmean(gold) if gold else None,
                agreement=statistics.fmean(pairs) if pairs else None,
                agreement_pairs=len(pairs),
                median_seconds=statistics.median(seconds) if seconds else None,
                too_fast_share=too_fast,
                too_fast_seconds=human.too_fast_seconds,
                time=time_on_task(seconds),
                flags=_flags(human, gold, seconds, too_fast),
            )
        )
    return figures


def gold_scores_since(session: Session, user: Account, job_id: int) -> list[float]:
    """This rater's gold scores in the job, counted from their last un-pause."""
    query = (
        select(Annotation.preference, Comparison.gold_preference)
        .select_from(Assignment)
        .join(Comparison, Comparison.id == Assignment.comparison_id)
        .join(Annotator, Annotator.user_id == Assignment.user_id)
        .join(
            Annotation,
            (Annotation.comparison_id == Assignment.comparison_id)
            & (Annotation.annotator_id == Annotator.id),
        )
        .where(
            Assignment.user_id == user.id,
            Assignment.submitted_at.is_not(None),
            Assignment.job_id == job_id,
            Annotator.kind == "human",
            Comparison.gold_preference.is_not(None),
            Annotation.preference.is_not(None),
        )
    )
    if user.qc_since is not None:
        query = query.where(Assignment.submitted_at >= user.qc_since)
    return [
        agreement_score(cast(float, p), cast(float, gold))
        for p, gold in session.execute(query).all()
    ]


def enforce_gold_floor(session: Session, user: Account, job_id: int, human: HumanSettings) -> bool:
    """Pause the rater if their gold accuracy is below the job's floor after enough gold items.
    Returns whether they were paused now."""
    if human.gold_accuracy_floor is None or user.paused_at is not None:
        return False
    scores = gold_scores_since(session, user, job_id)
    if len(scores) < human.gold_min_items:
        return False
    accuracy = statistics.fmean(scores)
    if accuracy >= human.gold_accuracy_floor:
        return False
    pause_rater(
        session,
        user.id,
        f"gold accuracy {accuracy:.0%} on job {job_id} is below the floor of "
        f"{human.gold_accuracy_floor:.0%} after {len(scores)} gold items",
    )
    return True


def pause_rater(session: Session, user_id: int, reason: str) -> None:
    """Stop serving the rater; their live assignments end now, so others get those comparisons."""
    now = datetime.now(UTC)
    session.execute(
        update(User).where(User.id == user_id).values(paused_at=now, paused_reason=reason)
    )
    session.execute(
        update(Assignment)
        .where(Assignment.user_id == user_id, Assignment.status == "leased")
        .values(expires_at=now)
    )


def unpause_rater(session: Session, user_id: int) -> None:
    """Serve the rater again; quality control starts afresh from now."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(paused_at=None, paused_reason=None, qc_since=datetime.now(UTC))
    )
