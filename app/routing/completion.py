"""When a comparison is finished, whichever queues its route put it in, and when its job is.

A comparison is
- `pending` while a simulated task is queued or running, or while a comparison routed to humans
  (`human` or `both`) has fewer submitted human judgments than the job's `human_overlap` k;
- `failed` when nothing is left to run and a simulated task failed;
- `done` otherwise.
Gold comparisons served for quality control are judged by every rater and never wait for k.

A job is `done` once it has comparisons and none is `pending` (an `active` job only: a paused,
cancelled or budget-exhausted job keeps its status), with `finished_at` set and its webhook
queued; a `done` job with a pending comparison again (more were added, failed tasks re-queued,
work re-routed) is `active` again. Everything that settles comparisons calls
`settle_comparisons`, which settles their jobs in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Update, and_, bindparam, case, exists, func, select, text, update
from sqlalchemy.orm import Session

from app.db.dialect import skip_locked_for_share
from app.db.models import _PENDING, HUMAN_ROUTES, Assignment, Comparison, Job, Task
from app.db.session import plain_connection
from app.routing.escalation import escalate
from app.routing.webhooks import queue_job_done

# The condition of the partial index ix_comparisons_pending, written as the index has it.
PENDING = text(_PENDING)


def _settle_comparisons_statement() -> Update:
    """The status of comparisons (parameter `settled_ids`) from their tasks and judgments."""
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
    return (
        update(Comparison)
        .where(Comparison.id.in_(bindparam("settled_ids", expanding=True)))
        .values(
            status=case(
                (open_task, "pending"),
                (awaiting_humans, "pending"),
                (failed_task, "failed"),
                else_="done",
            )
        )
        .returning(Comparison.id, Comparison.job_id, Comparison.route, Comparison.status)
        .execution_options(synchronize_session=False)
    )


# Built once: every judgment runs them, and building them cost more than running them.
_SETTLE_COMPARISONS = _settle_comparisons_statement()
# FOR NO KEY UPDATE, in id order: the lock the settling UPDATE takes anyway, taken first.
_LOCK_COMPARISONS = (
    select(Comparison.id)
    .where(Comparison.id.in_(bindparam("settled_ids", expanding=True)))
    .order_by(Comparison.id)
    .with_for_update(key_share=True)
)


def settle_comparisons(
    session: Session, comparison_ids: Sequence[int], *, finishing: bool = False
) -> None:
    """Recompute the status of these comparisons from their tasks and human judgments, send
    those an active policy escalates to humans, then settle their jobs.

    With `finishing`, the caller only added judgments to these comparisons of an active job (a
    rater's submission): a comparison still pending then changes nothing about its job, whose
    settling (a lock on the job row every submission would queue behind) is skipped."""
    if not comparison_ids:
        return
    ids = sorted(set(comparison_ids))
    connection = plain_connection(session)
    # The comparisons are locked before their judgments are counted. Counted in the UPDATE that
    # waited for the lock, the judgments of the transaction that held it would not be seen
    # (PostgreSQL re-reads a row an UPDATE waited for, not the rows its subqueries read): two
    # raters handing in a comparison's last two judgments at once both left it pending. Counted
    # in the statement after the lock, they are. (SQLite has one writer: it locks nothing here.)
    connection.execute(_LOCK_COMPARISONS, {"settled_ids": ids}).all()
    settled = connection.execute(_SETTLE_COMPARISONS, {"settled_ids": ids}).all()
    # Only simulated comparisons just done are escalated (escalate checks again, under lock).
    if any(row.route == "simulated" and row.status == "done" for row in settled):
        escalate(session, ids)
    job_ids = {row.job_id for row in settled if not finishing or row.status != "pending"}
    if finishing:
        job_ids = {job_id for job_id in job_ids if not _pending_elsewhere(session, job_id, ids)}
    settle_jobs(session, job_ids)


def _pending_elsewhere(session: Session, job_id: int, settled_ids: list[int]) -> bool:
    """Whether the job has another pending comparison that no transaction is changing now; it
    is then share-locked, so it stays pending until this transaction ends: this settling cannot
    make the job done, and needs no lock on the job row (which every rater's submission would
    queue behind). When every other pending comparison is being changed, the job is settled
    under its lock as usual."""
    other = session.scalar(
        skip_locked_for_share(
            select(Comparison.id)
            .where(Comparison.job_id == job_id, PENDING, Comparison.id.not_in(settled_ids))
            .limit(1)
        )
    )
    return other is not None


def settle_jobs(session: Session, job_ids: Iterable[int]) -> None:
    """Mark these jobs `done` or `active` again from their comparisons (see the module)."""
    ids = sorted(set(job_ids))
    if not ids:
        return
    # Locked, in id order, so that two transactions settling the last comparisons of one job
    # (each seeing the other's as pending) run one after the other: the second then sees the
    # first's comparisons settled. FOR NO KEY UPDATE, because both already hold the KEY SHARE
    # lock that inserting a judgment or task takes on its job: FOR UPDATE would conflict with
    # it, and two such transactions would deadlock. SQLite has one writer and needs no lock.
    session.execute(
        select(Job.id)
        .where(Job.id.in_(ids), Job.status.in_(("active", "done")))
        .order_by(Job.id)
        .with_for_update(key_share=True)
    ).all()
    pending = exists().where(Comparison.job_id == Job.id, Comparison.status == "pending")
    has_comparisons = exists().where(Comparison.job_id == Job.id)
    now = datetime.now(UTC)
    finished = list(
        session.scalars(
            update(Job)
            .where(Job.id.in_(ids), Job.status == "active", has_comparisons, ~pending)
            .values(status="done", finished_at=now)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        update(Job)
        .where(Job.id.in_(ids), Job.status == "done", pending)
        .values(status="active", finished_at=None)
        .execution_options(synchronize_session=False)
    )
    for job in [o for o in session.identity_map.values() if isinstance(o, Job) and o.id in ids]:
        session.expire(job, ["status", "finished_at"])  # loaded rows see the new status
    for job_id in finished:
        queue_job_done(session, job_id)
