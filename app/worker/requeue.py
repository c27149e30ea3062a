"""Putting a job's failed tasks, and tasks whose answer could not be parsed, back in the queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import Session

from app.db.models import Annotation, Job, Task
from app.db.session import changed_rows
from app.errors import RequestError
from app.routing.completion import settle_comparisons


@dataclass(frozen=True)
class Requeued:
    failed: int
    unparsed: int


def requeue_tasks(session: Session, job: Job, *, failed: bool, unparsed: bool) -> Requeued:
    if job.status == "cancelled":
        raise RequestError(409, "job_cancelled", f"job {job.id} is cancelled; nothing is re-run")
    job_id = job.id
    comparison_ids: set[int] = set()
    failed_count = unparsed_count = 0
    fresh = {"status": "queued", "attempts": 0, "not_before": None, "last_error": None}
    if failed:
        rows = session.execute(
            update(Task)
            .where(Task.job_id == job_id, Task.status == "failed")
            .values(**fresh)
            .returning(Task.comparison_id)
        ).all()
        failed_count = len(rows)
        comparison_ids.update(r.comparison_id for r in rows)
    if unparsed:
        unparsed_answer = and_(
            Annotation.job_id == job_id,
            Annotation.source == "worker",
            Annotation.parse_error.is_not(None),
        )
        pairs = session.execute(
            select(Annotation.comparison_id, Annotation.annotator_id).where(unparsed_answer)
        ).all()
        if pairs:
            matches_unparsed = exists().where(
                unparsed_answer,
                Annotation.comparison_id == Task.comparison_id,
                Annotation.annotator_id == Task.annotator_id,
            )
            unparsed_count = changed_rows(
                session.execute(
                    update(Task)
                    .where(Task.job_id == job_id, Task.status == "done", matches_unparsed)
                    .values(**fresh)
                    .execution_options(synchronize_session=False)
                )
            )
            session.execute(delete(Annotation).where(unparsed_answer))
            comparison_ids.update(p.comparison_id for p in pairs)
    if comparison_ids:
        settle_comparisons(session, sorted(comparison_ids))
    return Requeued(failed=failed_count, unparsed=unparsed_count)
