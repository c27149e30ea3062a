"""A job's counts as the API reports them: comparisons by status, tasks by status, escalations
by reason, judgments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Comparison, Task


@dataclass(frozen=True)
class JobCounts:
    comparisons: int
    comparisons_by_status: dict[str, int]
    tasks_by_status: dict[str, int]
    escalations_by_reason: dict[str, int]
    annotations: int


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
    escalations = {
        reason: count
        for reason, count in session.execute(
            select(Comparison.escalation, func.count())
            .where(Comparison.job_id == job_id, Comparison.escalation.is_not(None))
            .group_by(Comparison.escalation)
        ).all()
        if reason is not None
    }
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
