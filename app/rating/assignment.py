"""Which comparison a rater gets next, leases, and recording a rater's judgment.

Rules:
- each comparison routed to humans gets `human_overlap` (k) different raters; a rater never
  gets the same comparison twice (unique (comparison, user) in `assignments`);
- a served comparison is leased to the rater for the job's lease time; `comparisons.human_claims`
  counts live leases plus submitted judgments and `human_open` says it is still below k, so
  "next" reads one short partial index instead of counting judgments;
- a lapsed lease or a skip gives the claim back, so the comparison goes to someone else
  (lapsed leases are swept now and then, and whenever a rater would otherwise get nothing);
- gold comparisons (with a known answer) are, when the job's gold rate is above 0, served to
  every rater at that rate, looking like any other comparison, and do not count toward k.

Every change of `human_claims` is a conditional UPDATE, so k holds on PostgreSQL (row locks,
SKIP LOCKED to let raters pass each other) and on SQLite (one writer at a time) alike.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Row, exists, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator, Assignment, Comparison, Job, User
from app.ingest.rows import LABEL_PREFERENCE
from app.rating.settings import HumanSettings
from app.routing.completion import settle_comparisons

# Comparison routes whose work goes to raters (app/routing: `human` only, or `both` for the
# calibration slice and escalated comparisons). The literal SQL matches the partial index
# ix_comparisons_human_queue, so keep the two in step.
HUMAN_ROUTES = ("human", "both")
HUMAN_QUEUE = text("comparisons.route IN ('human', 'both') AND comparisons.human_open")

CHOICES = ("A", "B", "tie", "both_bad")
_PICK_ATTEMPTS = 5
SWEEP_EVERY = 20


class JudgingError(Exception):
    """A submission or skip that cannot be accepted; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Pick:
    comparison_id: int
    gold: bool


def shown_swapped_for(job_seed: int, comparison_id: int, user_id: int) -> bool:
    """Whether this rater sees output_2 on the left: fixed per (job seed, comparison, rater)."""
    digest = hashlib.sha256(f"sides:{job_seed}:{comparison_id}:{user_id}".encode()).digest()
    return bool(digest[0] & 1)


def label_for(choice: str, shown_swapped: bool) -> str:
    """The label in the comparison's own frame for a choice made between sides A and B."""
    if choice == "A":
        return "output_2" if shown_swapped else "output_1"
    if choice == "B":
        return "output_1" if shown_swapped else "output_2"
    return choice


def _not_seen_by(user_id: int) -> ColumnElement[bool]:
    return ~exists().where(Assignment.comparison_id == Comparison.id, Assignment.user_id == user_id)


def _human_comparisons(job_id: int) -> ColumnElement[bool]:
    return (Comparison.job_id == job_id) & Comparison.route.in_(HUMAN_ROUTES)


def pick_comparison(
    db: Session, job: Job, user_id: int, human: HumanSettings, skip: set[int]
) -> Pick | None:
    """The comparison to serve this rater next, or None when there is nothing for them.

    The one place that decides what raters see: a gold item at the job's gold rate, else the
    oldest comparison still below k that this rater has not seen. Rows other raters are
    leasing right now are skipped, not waited for.
    """
    gold_mode = human.gold_rate > 0
    if gold_mode and random.random() < human.gold_rate:
        gold_query = select(Comparison.id).where(
            _human_comparisons(job.id),
            Comparison.gold_preference.is_not(None),
            _not_seen_by(user_id),
        )
        if skip:
            gold_query = gold_query.where(Comparison.id.not_in(skip))
        gold_id = db.scalar(gold_query.order_by(Comparison.id).limit(1))
        if gold_id is not None:
            return Pick(gold_id, gold=True)
    query = select(Comparison.id).where(
        Comparison.job_id == job.id, HUMAN_QUEUE, _not_seen_by(user_id)
    )
    if gold_mode:
        query = query.where(Comparison.gold_preference.is_(None))
    if skip:
        query = query.where(Comparison.id.not_in(skip))
    comparison_id = db.scalar(
        query.order_by(Comparison.id).limit(1).with_for_update(skip_locked=True, of=Comparison)
    )
    return Pick(comparison_id, gold=False) if comparison_id is not None else None


def _claim(db: Session, comparison_id: int, k: int, *, enforce_k: bool) -> bool:
    """Count one more rater on the comparison; refused when that would exceed k."""
    statement = (
        update(Comparison)
        .where(Comparison.id == comparison_id)
        .values(
            human_claims=Comparison.human_claims + 1,
            human_open=Comparison.human_claims + 1 < k,
        )
    )
    if enforce_k:
        statement = statement.where(Comparison.human_claims < k)
    return db.execute(statement.execution_options(synchronize_session=False)).rowcount == 1


def _release(db: Session, comparison_counts: Counter[int], k: int) -> None:
    """Give claims back (lapsed leases, skips), lowest id first to keep lock order stable."""
    for comparison_id, count in sorted(comparison_counts.items()):
        db.execute(
            update(Comparison)
            .where(Comparison.id == comparison_id)
            .values(
                human_claims=Comparison.human_claims - count,
                human_open=Comparison.human_claims - count < k,
            )
            .execution_options(synchronize_session=False)
        )


def expire_lapsed_leases(db: Session, job: Job, now: datetime) -> int:
    """Mark leases past their time as expired and hand their comparisons back."""
    lapsed = db.execute(
        update(Assignment)
        .where(
            Assignment.job_id == job.id,
            Assignment.status == "leased",
            Assignment.expires_at < now,
        )
        .values(status="expired")
        .returning(Assignment.comparison_id)
        .execution_options(synchronize_session=False)
    ).all()
    _release(db, Counter(row.comparison_id for row in lapsed), job.human_overlap)
    return len(lapsed)


def live_lease(db: Session, user_id: int, job_id: int, now: datetime) -> Assignment | None:
    return db.scalar(
        select(Assignment)
        .where(
            Assignment.job_id == job_id,
            Assignment.user_id == user_id,
            Assignment.status == "leased",
            Assignment.expires_at >= now,
        )
        .order_by(Assignment.id)
        .limit(1)
    )


def lease_next(
    db: Session, user: User, job: Job, human: HumanSettings, now: datetime | None = None
) -> Assignment | None:
    """The rater's current lease in this job, or a new one; None when nothing is left for them.

    Lapsed leases are swept on one call in SWEEP_EVERY (amortised: the sweep is a write every
    rater would otherwise queue behind) and always before answering "nothing left". Commits.
    """
    now = now or datetime.now(UTC)
    current = live_lease(db, user.id, job.id, now)
    if current is not None or job.status != "active" or user.paused_at is not None:
        return current
    swept = random.randrange(SWEEP_EVERY) == 0
    if swept:
        expire_lapsed_leases(db, job, now)
    assignment = _lease_new(db, user, job, human, now)
    if assignment is None and not swept and expire_lapsed_leases(db, job, now):
        assignment = _lease_new(db, user, job, human, now)
    db.commit()
    return assignment


def _lease_new(
    db: Session, user: User, job: Job, human: HumanSettings, now: datetime
) -> Assignment | None:
    passed: set[int] = set()
    for _ in range(_PICK_ATTEMPTS):
        pick = pick_comparison(db, job, user.id, human, passed)
        if pick is None:
            return None
        if not _claim(db, pick.comparison_id, job.human_overlap, enforce_k=not pick.gold):
            passed.add(pick.comparison_id)  # filled up by another rater since we read it
            continue
        assignment = Assignment(
            job_id=job.id,
            comparison_id=pick.comparison_id,
            user_id=user.id,
            status="leased",
            shown_swapped=shown_swapped_for(job.seed, pick.comparison_id, user.id),
            created_at=now,
            expires_at=now + timedelta(seconds=human.lease_seconds),
        )
        db.add(assignment)
        try:
            db.flush()
        except IntegrityError:  # the same rater leased it from another tab at the same moment
            db.rollback()  # the claim with it
            passed.add(pick.comparison_id)
            continue
        return assignment
    return None


def _own_assignment(db: Session, user: User, job: Job, assignment_id: int) -> Assignment:
    assignment = db.get(Assignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        raise JudgingError(404, "This comparison is not leased to you.")
    if assignment.job_id != job.id:
        raise JudgingError(404, "This comparison belongs to another job.")
    return assignment


def submit_judgment(
    db: Session,
    user: User,
    job: Job,
    assignment_id: int,
    choice: str,
    reason: str | None,
    now: datetime | None = None,
) -> Annotation:
    """Store the rater's judgment of a comparison leased to them. Commits, or raises JudgingError
    having changed nothing."""
    now = now or datetime.now(UTC)
    if choice not in CHOICES:
        raise JudgingError(422, "Choose A better, B better, tie or both bad.")
    if user.paused_at is not None:
        raise JudgingError(403, "Your rating is paused; ask an admin.")
    lease = _mark_submitted(db, user, job, assignment_id, now)
    if lease is None:
        db.rollback()
        lease = _resubmit_lapsed(db, user, job, assignment_id, now)
    label = label_for(choice, lease.shown_swapped)
    annotation = Annotation(
        job_id=job.id,
        comparison_id=lease.comparison_id,
        annotator_id=human_annotator_id(db, user),
        preference=LABEL_PREFERENCE[label],
        label=label,
        shown_swapped=lease.shown_swapped,
        rationale=reason or None,
        seconds_on_task=max(0.0, (now - lease.created_at).total_seconds()),
        source="web",
        created_at=now,
    )
    db.add(annotation)
    try:
        db.flush()
        settle_comparisons(db, [lease.comparison_id])
        db.commit()
    except IntegrityError as error:
        db.rollback()
        raise JudgingError(
            409, "A judgment of yours for this comparison is stored already."
        ) from error
    return annotation


def _mark_submitted(
    db: Session, user: User, job: Job, assignment_id: int, now: datetime
) -> Row[tuple[int, bool, datetime]] | None:
    """Turn this rater's lease into a submission; its (comparison_id, shown_swapped,
    created_at), or None when it was not leased to them (any more)."""
    return db.execute(
        update(Assignment)
        .where(
            Assignment.id == assignment_id,
            Assignment.user_id == user.id,
            Assignment.job_id == job.id,
            Assignment.status == "leased",
        )
        .values(status="submitted", submitted_at=now)
        .returning(Assignment.comparison_id, Assignment.shown_swapped, Assignment.created_at)
        .execution_options(synchronize_session=False)
    ).first()


def _resubmit_lapsed(
    db: Session, user: User, job: Job, assignment_id: int, now: datetime
) -> Row[tuple[int, bool, datetime]]:
    """A submission for an expired lease is accepted while the comparison still has room."""
    assignment = _own_assignment(db, user, job, assignment_id)
    if assignment.status == "submitted":
        raise JudgingError(409, "You have judged this comparison already.")
    if assignment.status == "skipped":
        raise JudgingError(409, "You skipped this comparison.")
    if not _claim(db, assignment.comparison_id, job.human_overlap, enforce_k=True):
        db.rollback()
        raise JudgingError(409, "Your lease lapsed and other raters have judged it since.")
    lease = db.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.status == "expired")
        .values(status="submitted", submitted_at=now)
        .returning(Assignment.comparison_id, Assignment.shown_swapped, Assignment.created_at)
        .execution_options(synchronize_session=False)
    ).first()
    if lease is None:  # changed under us; nothing of ours is kept
        db.rollback()
        raise JudgingError(409, "This comparison changed while you submitted; reload the page.")
    return lease


def skip_comparison(db: Session, user: User, job: Job, assignment_id: int) -> None:
    """The rater passes on a comparison: it goes to other raters and never back to this one."""
    for held_claim, status in ((True, "leased"), (False, "expired")):
        comparison_id = db.scalar(
            update(Assignment)
            .where(
                Assignment.id == assignment_id,
                Assignment.user_id == user.id,
                Assignment.job_id == job.id,
                Assignment.status == status,
            )
            .values(status="skipped")
            .returning(Assignment.comparison_id)
            .execution_options(synchronize_session=False)
        )
        if comparison_id is not None:
            if held_claim:
                _release(db, Counter([comparison_id]), job.human_overlap)
            db.commit()
            return
    db.rollback()
    assignment = _own_assignment(db, user, job, assignment_id)
    raise JudgingError(409, f"This comparison is {assignment.status} already.")


def human_annotator_id(db: Session, user: User) -> int:
    """The `human:<email>` annotator of a rater (made on the fly for accounts that lack one)."""
    annotator_id = db.scalar(
        select(Annotator.id).where(Annotator.user_id == user.id, Annotator.kind == "human")
    )
    if annotator_id is None:
        annotator = Annotator(kind="human", name=f"human:{user.email}", user_id=user.id)
        db.add(annotator)
        db.flush()
        annotator_id = annotator.id
    return annotator_id
