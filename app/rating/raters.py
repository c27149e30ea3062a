"""What admins do with raters: the roster, creating raters, passwords, which jobs they may
rate, pausing; and the admin view of a job's human settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.accounts.browser_sessions import end_all_sessions
from app.accounts.service import AccountError, create_user, set_password
from app.db.models import Annotation, Annotator, Job, RaterJob, User
from app.errors import RequestError, not_found
from app.rating.quality import RaterQuality, job_quality


@dataclass(frozen=True)
class Roster:
    raters: list[User]
    judgments: dict[int, int]  # by user id
    jobs_allowed: dict[int, int]


@dataclass(frozen=True)
class RaterDetail:
    rater: User
    jobs: list[Job]
    allowed: set[int]
    quality: list[tuple[int, RaterQuality]]  # (job id, figures) for each job they judged in


def load_rater(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.role != "rater":
        raise not_found(f"rater {user_id}")
    return user


def load_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise not_found(f"job {job_id}")
    return job


def roster(session: Session) -> Roster:
    judgments = dict(
        session.execute(
            select(Annotator.user_id, func.count(Annotation.id))
            .join(Annotation, Annotation.annotator_id == Annotator.id)
            .where(Annotator.kind == "human")
            .group_by(Annotator.user_id)
        ).all()
    )
    jobs_allowed = dict(
        session.execute(select(RaterJob.user_id, func.count()).group_by(RaterJob.user_id)).all()
    )
    raters = list(session.scalars(select(User).where(User.role == "rater").order_by(User.email)))
    return Roster(raters, {k: v for k, v in judgments.items() if k is not None}, jobs_allowed)


def add_rater(session: Session, email: str, password: str) -> User:
    try:
        return create_user(session, email, "rater", password)
    except AccountError as error:
        raise RequestError(422, "invalid_account", str(error)) from error


def rater_detail(session: Session, user_id: int, too_fast_seconds: float) -> RaterDetail:
    rater = load_rater(session, user_id)
    allowed = set(session.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id)))
    jobs = list(session.scalars(select(Job).order_by(Job.id)))
    judged_jobs = session.scalars(
        select(Annotation.job_id)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .where(Annotator.user_id == rater.id)
        .distinct()
    ).all()
    quality = [
        (job_id, figures)
        for job_id in sorted(judged_jobs)
        for figures in job_quality(session, job_id, too_fast_seconds, user_id=rater.id)
    ]
    return RaterDetail(rater, jobs, allowed, quality)


def reset_password(session: Session, user_id: int, password: str) -> None:
    """A new password logs the rater out everywhere."""
    rater = load_rater(session, user_id)
    try:
        set_password(session, rater, password)
    except AccountError as error:
        raise RequestError(422, "invalid_password", str(error)) from error
    end_all_sessions(session, rater.id)


def set_rater_jobs(session: Session, user_id: int, job_ids: set[int]) -> None:
    rater = load_rater(session, user_id)
    existing = set(session.scalars(select(Job.id).where(Job.id.in_(job_ids)))) if job_ids else set()
    if existing != job_ids:
        raise RequestError(422, "unknown_jobs", f"Unknown jobs: {sorted(job_ids - existing)}")
    session.execute(delete(RaterJob).where(RaterJob.user_id == rater.id))
    session.add_all(RaterJob(user_id=rater.id, job_id=job) for job in sorted(job_ids))
