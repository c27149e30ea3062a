"""When a comparison is finished, whichever queues its route put it in.

- `pending` while a simulated task is queued or running, or while a comparison routed to humans
  (`human` or `both`) has fewer submitted human judgments than the job's `human_overlap` k;
- `failed` when nothing is left to run and a simulated task failed;
- `done` otherwise.
Gold comparisons served for quality control are judged by every rater and never wait for k.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.orm import Session

from app.db.models import HUMAN_ROUTES, Assignment, Comparison, Job, Task


def settle_comparisons(session: Session, comparison_ids: Sequence[int]) -> None:
    """Recompute the status of these comparisons from their tasks and human judgments."""
    if not comparison_ids:
        return
    open_task = exists().where(
        Task.comparison_id == Comparison.id, Task.status.in_(("queued", "running"))
    )
    failed_task = exists().where(Task.comparison_id == Comparison.id, Task.status == "failed")
    submitted = (
        select(func.count())
        .where(Assignment.comparison_id == Comparison.id, Assignment.status == "submitted")
        .scalar_subquery()
    )
    overlap = select(Job.human_overlap).where(Job.id == Comparison.job_id).scalar_subquery()
    awaiting_humans = and_(
        Comparison.route.in_(HUMAN_ROUTES),
        Comparison.gold_preference.is_(None),
        submitted < overlap,
    )
    session.execute(
        update(Comparison)
        .where(Comparison.id.in_(list(comparison_ids)))
        .values(
            status=case(
                (open_task, "pending"),
                (awaiting_humans, "pending"),
                (failed_task, "failed"),
                else_="done",
            )
        )
        .execution_options(synchronize_session=False)
    )
