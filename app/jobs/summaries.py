"""The job list: one keyset page of jobs with their size and how far their work has come."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.accounts.identity import Account
from app.db.models import Annotation, Comparison, Job, Task, User
from app.jobs.access import visible_jobs

JOBS_PER_PAGE = 50


@dataclass
class JobSummary:
    job: Job
    owner: str
    comparisons: int
    judgments: int
    tasks_done: int
    tasks_total: int

    @property
    def spend_share(self) -> float | None:
        if not self.job.budget_usd:
            return None
        return min(1.0, self.job.spent_usd / self.job.budget_usd)


def _counts(
    session: Session, job_id: InstrumentedAttribute[int], job_ids: list[int]
) -> dict[int, int]:
    """Rows per job, counted on the table's (job_id, id) index."""
    rows = session.execute(select(job_id, func.count()).where(job_id.in_(job_ids)).group_by(job_id))
    return {key: count for key, count in rows}


def job_page(
    session: Session, user: Account, before: int | None
) -> tuple[list[JobSummary], int | None]:
    """Newest jobs first; returns the page and the `before` of the next page (or None)."""
    query = visible_jobs(user).order_by(Job.id.desc()).limit(JOBS_PER_PAGE + 1)
    if before is not None:
        query = query.where(Job.id < before)
    jobs = list(session.scalars(query))
    next_before = jobs[JOBS_PER_PAGE - 1].id if len(jobs) > JOBS_PER_PAGE else None
    jobs = jobs[:JOBS_PER_PAGE]
    ids = [job.id for job in jobs]
    owners = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_({job.owner_id for job in jobs}))
        ).all()
    )
    comparisons = _counts(session, Comparison.job_id, ids)
    judgments = _counts(session, Annotation.job_id, ids)
    tasks: dict[int, dict[str, int]] = {}
    for job_id, status, count in session.execute(
        select(Task.job_id, Task.status, func.count())
        .where(Task.job_id.in_(ids))
        .group_by(Task.job_id, Task.status)
    ).all():
        tasks.setdefault(job_id, {})[status] = count
    summaries = [
        JobSummary(
            job=job,
            owner=owners.get(job.owner_id, ""),
            comparisons=comparisons.get(job.id, 0),
            judgments=judgments.get(job.id, 0),
            tasks_done=tasks.get(job.id, {}).get("done", 0),
            tasks_total=sum(tasks.get(job.id, {}).values()),
        )
        for job in jobs
    ]
    return summaries, next_before
