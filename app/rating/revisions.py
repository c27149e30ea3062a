"""Changing a judgment ("undo"): a rater may change their last judgment in a job, from the next
page, while the lease it was made under lasts.

A change is a new version of the same `annotations` row: the row keeps its id, its assignment
and its one place toward k, and takes the new verdict with `version` + 1; the values it replaced
go to `judgment_versions`, which only audits. So every reader of `annotations` (k, completion,
quality, statistics, exports) sees the current version and nothing else, without a filter.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.db.models import Annotation, Annotator, Assignment, Job, JudgmentVersion
from app.db.scales import scale_named
from app.db.session import changed_rows
from app.rating.assignment import (
    JudgingError,
    JudgmentForm,
    parse_choice,
    refuse_unless_rateable,
    stored_verdict,
)


def revisable_judgment(
    session: Session, user: Account, job: Job, assignment_id: int, now: datetime
) -> tuple[Assignment, Annotation]:
    """The rater's last judgment in the job, if it may still change; else a JudgingError."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.user_id != user.id or assignment.job_id != job.id:
        raise JudgingError(404, "You have no judgment with this number in this job.")
    if assignment.status != "submitted" or assignment.submitted_at is None:
        raise JudgingError(409, "Only a comparison you judged can be changed.")
    if now >= assignment.expires_at:
        raise JudgingError(
            409,
            "The time to change this judgment has passed: it could change until "
            f"{assignment.expires_at:%H:%M} UTC, while its lease lasted.",
        )
    later = exists().where(
        Assignment.user_id == user.id,
        Assignment.job_id == job.id,
        Assignment.status == "submitted",
        or_(
            Assignment.submitted_at > assignment.submitted_at,
            and_(
                Assignment.submitted_at == assignment.submitted_at,
                Assignment.id > assignment.id,
            ),
        ),
    )
    if session.scalar(select(later)):
        raise JudgingError(409, "Only your last judgment in this job can be changed.")
    annotation = session.scalar(
        select(Annotation)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .where(
            Annotation.comparison_id == assignment.comparison_id,
            Annotator.user_id == user.id,
            Annotator.kind == "human",
            Annotation.repeat == 0,
        )
    )
    if annotation is None:
        raise JudgingError(404, "You have no judgment with this number in this job.")
    return assignment, annotation


def revise_judgment(
    session: Session,
    user: Account,
    job: Job,
    assignment_id: int,
    form: JudgmentForm,
    guideline_version: int | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Make the rater's new verdict the current version of their last judgment."""
    now = now or datetime.now(UTC)
    verdict = parse_choice(job, form.choice)
    if user.paused_at is not None:
        raise JudgingError(403, "Your rating is paused; ask an admin.")
    if job.status != "done":  # the judgment that finished a job may still be corrected
        refuse_unless_rateable(job)
    assignment, annotation = revisable_judgment(session, user, job, assignment_id, now)
    stored = stored_verdict(scale_named(job.preference_scale), verdict, assignment.shown_swapped)
    replaced = JudgmentVersion(
        annotation_id=annotation.id,
        version=annotation.version,
        preference=annotation.preference,
        label=annotation.label,
        strength=annotation.strength,
        rationale=annotation.rationale,
        guideline_version=annotation.guideline_version,
        seconds_on_task=annotation.seconds_on_task,
        created_at=_version_made_at(session, annotation),
        replaced_at=now,
    )
    # Guarded by the version read: of two changes sent at once from two tabs, one wins and the
    # other is refused, and each version is kept exactly once.
    changed = session.execute(
        update(Annotation)
        .where(Annotation.id == annotation.id, Annotation.version == annotation.version)
        .values(
            label=stored.label,
            strength=stored.strength,
            preference=stored.preference,
            rationale=form.reason or None,
            guideline_version=guideline_version,
            version=Annotation.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(changed) != 1:
        raise JudgingError(409, "This judgment changed while you sent yours; reload the page.")
    session.add(replaced)
    session.flush()
    session.refresh(annotation)
    return annotation


def _version_made_at(session: Session, annotation: Annotation) -> datetime:
    """When the current version was made: the judgment's time, or the last change's."""
    last_change = session.scalar(
        select(func.max(JudgmentVersion.replaced_at)).where(
            JudgmentVersion.annotation_id == annotation.id
        )
    )
    return last_change or annotation.created_at
