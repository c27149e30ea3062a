"""A job's counts as the API reports them: comparisons by status, tasks by status, escalations
by reason, judgments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator, Comparison, Task


@dataclass(frozen=True)
class JobCounts:
    comparisons: int
    comparisons_by_status: dict[str, int]
    tasks_by_status: dict[str, int]
    escalations_by_reason: dict[str, int]
    annotations: int


def job_counts_escalations(session: Session, job_id: int) -> dict[str, int]:
    """Comparisons an active policy sent to humans, by reason."""
    return {
        reason: count
        for reason, count in session.execute(
            select(Comparison.escalation, func.count())
            .where(Comparison.job_id == job_id, Comparison.escalation.is_not(None))
            .group_by(Comparison.escalation)
        ).all()
        if reason is not None
    }


def job_counts(session: Session, job_id: int) -> JobCounts:
    by_status = dict(
        session.execute(
            select(Comparison.status, func.count())
            .where(Comparison.job_id == job_id)
            .group_by(Comparison.status)
        ).all()
    )
    tasks = dict(
        session.execute(
            select(Task.status, func.count()).where(Task.job_id == job_id).group_by(Task.status)
        ).all()
    )
    escalations = job_counts_escalations(session, job_id)
    annotations = session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
    )
    return JobCounts(
        comparisons=sum(by_status.values()),
        comparisons_by_status=by_status,
        tasks_by_status=tasks,
        escalations_by_reason=escalations,
        annotations=annotations or 0,
    )


# How many distinct task errors, and how many comparisons with an error, the job page shows.
WHY_ERRORS_SHOWN = 10
WHY_EXAMPLES_SHOWN = 10


@dataclass(frozen=True)
class ErrorCount:
    annotator: str
    error: str
    tasks: int


@dataclass(frozen=True)
class WhyCounts:
    """Why a job's work is where it is: failed tasks by error, escalations by reason, and the
    first comparisons with a task error."""

    failed_tasks: int
    errors: list[ErrorCount]
    escalations_by_reason: dict[str, int]
    erring_comparisons: list[tuple[int, str]]  # (id, the researcher's id)


def why_counts(session: Session, job_id: int) -> WhyCounts:
    grouped = session.execute(
        select(Annotator.name, Task.last_error, func.count())
        .join(Annotator, Annotator.id == Task.annotator_id)
        .where(Task.job_id == job_id, Task.status == "failed")
        .group_by(Annotator.name, Task.last_error)
        .order_by(func.count().desc(), Annotator.name)
    ).all()
    erring = session.execute(
        select(Comparison.id, Comparison.external_id)
        .where(
            Comparison.job_id == job_id,
            exists().where(Task.comparison_id == Comparison.id, Task.last_error.is_not(None)),
        )
        .order_by(Comparison.id)
        .limit(WHY_EXAMPLES_SHOWN)
    ).all()
    return WhyCounts(
        failed_tasks=sum(count for _, _, count in grouped),
        errors=[
            ErrorCount(name, error or "", count)
            for name, error, count in grouped[:WHY_ERRORS_SHOWN]
        ],
        escalations_by_reason=job_counts_escalations(session, job_id),
        erring_comparisons=[(row.id, row.external_id) for row in erring],
    )
