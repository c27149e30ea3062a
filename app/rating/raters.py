"""What admins do with raters: the roster, creating raters, groups, passwords, which jobs they
may rate (one rater at a time, or a whole job opened to every rater or a group at once),
pausing; and the admin view of a job's rating setup and quality."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, literal, select
from sqlalchemy.orm import Session

from app.accounts.browser_sessions import end_all_sessions
from app.accounts.service import AccountError, create_user, set_password
from app.config import Settings
from app.db.dialect import insert_ignoring_conflicts
from app.db.models import Annotation, Annotator, Job, RaterJob, User
from app.db.scales import Scale, scale_named
from app.errors import RequestError, not_found
from app.jobs.rating_setup import current_guidelines_text, has_rater_judgments
from app.rating.quality import RaterQuality, job_quality
from app.rating.settings import HumanSettings, human_settings

MAX_GROUP_CHARS = 100
# Routing policies that can send comparisons to raters (app/routing): the jobs with human work.
HUMAN_POLICIES = ("human", "mixed", "active")


@dataclass(frozen=True)
class Roster:
    raters: list[User]
    judgments: dict[int, int]  # by user id
    jobs_allowed: dict[int, int]
    groups: list[str]  # every group name in use
    human_jobs: list[Job]  # for the filter by job


@dataclass(frozen=True)
class RaterDetail:
    rater: User
    jobs: list[Job]  # the jobs offered in the access form
    all_jobs: bool  # whether jobs without human work are offered too
    allowed: set[int]
    quality: list[tuple[int, RaterQuality]]  # (job id, figures) for each job they judged in


@dataclass(frozen=True)
class JobSetup:
    """The admin's job page: human settings, scale, guidelines, access and quality."""

    job: Job
    human: HumanSettings
    scale: Scale
    scale_locked: bool  # raters have judged: the scale can no longer change
    guidelines: str
    raters_allowed: int
    raters_total: int
    groups: list[str]
    quality: list[RaterQuality]


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


def has_human_work() -> ColumnElement[bool]:
    """Jobs whose routing policy sends comparisons to raters."""
    return func.coalesce(Job.routing["policy"].as_string(), "simulated").in_(HUMAN_POLICIES)


def rater_groups(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(User.rater_group)
            .where(User.role == "rater", User.rater_group.is_not(None))
            .distinct()
            .order_by(User.rater_group)
        )
    )


def roster(session: Session, group: str | None = None, job_id: int | None = None) -> Roster:
    """The raters, optionally only those of a group or those who may rate a job."""
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
    query = select(User).where(User.role == "rater").order_by(User.email)
    if group:
        query = query.where(User.rater_group == group)
    if job_id is not None:
        query = query.join(RaterJob, (RaterJob.user_id == User.id) & (RaterJob.job_id == job_id))
    human_jobs = list(session.scalars(select(Job).where(has_human_work()).order_by(Job.id)))
    return Roster(
        list(session.scalars(query)),
        {k: v for k, v in judgments.items() if k is not None},
        jobs_allowed,
        rater_groups(session),
        human_jobs,
    )


def _group(text: str) -> str | None:
    group = " ".join(text.split())
    if len(group) > MAX_GROUP_CHARS:
        raise RequestError(
            422, "invalid_group", f"A group name has at most {MAX_GROUP_CHARS} characters."
        )
    return group or None


def add_rater(session: Session, email: str, password: str, group: str = "") -> User:
    try:
        user = create_user(session, email, "rater", password)
    except AccountError as error:
        raise RequestError(422, "invalid_account", str(error)) from error
    user.rater_group = _group(group)
    return user


def set_rater_group(session: Session, user_id: int, group: str) -> None:
    load_rater(session, user_id).rater_group = _group(group)


def rater_detail(
    session: Session, user_id: int, settings: Settings, all_jobs: bool = False
) -> RaterDetail:
    """A rater's page: status, quality per job (under each job's settings), job access. The
    access form offers the jobs with human work (and any the rater has), or every job."""
    rater = load_rater(session, user_id)
    allowed = set(session.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id)))
    query = select(Job).order_by(Job.id)
    if not all_jobs:
        query = query.where(has_human_work() | Job.id.in_(allowed))
    jobs = list(session.scalars(query))
    judged_jobs = session.scalars(
        select(Annotation.job_id)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .where(Annotator.user_id == rater.id)
        .distinct()
    ).all()
    quality = [
        (job_id, figures)
        for job_id in sorted(judged_jobs)
        for figures in job_quality(
            session, job_id, human_settings(session, job_id, settings), user_id=rater.id
        )
    ]
    return RaterDetail(rater, jobs, all_jobs, allowed, quality)


def reset_password(session: Session, user_id: int, password: str) -> None:
    """A new password logs the rater out everywhere."""
    rater = load_rater(session, user_id)
    try:
        set_password(session, rater, password)
    except AccountError as error:
        raise RequestError(422, "invalid_password", str(error)) from error
    end_all_sessions(session, rater.id)


def set_rater_jobs(
    session: Session, user_id: int, job_ids: set[int], offered: set[int] | None = None
) -> None:
    """Give the rater access to exactly `job_ids` among the jobs the form `offered` (default:
    every job); access to jobs the form did not show stays as it was. Access kept is not
    rewritten, so what the rater has read of its guidelines stays known."""
    rater = load_rater(session, user_id)
    if offered is not None and not job_ids <= offered:
        raise RequestError(422, "unknown_jobs", "Jobs that the form did not offer were sent.")
    named = job_ids | (offered or set())
    existing = set(session.scalars(select(Job.id).where(Job.id.in_(named)))) if named else set()
    if existing != named:
        raise RequestError(422, "unknown_jobs", f"Unknown jobs: {sorted(named - existing)}")
    current = set(session.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id)))
    scope = offered if offered is not None else current | job_ids
    removed = (current & scope) - job_ids
    if removed:
        session.execute(
            delete(RaterJob).where(RaterJob.user_id == rater.id, RaterJob.job_id.in_(removed))
        )
    session.add_all(RaterJob(user_id=rater.id, job_id=job) for job in sorted(job_ids - current))


def open_job(session: Session, job_id: int, group: str | None) -> int:
    """Let every active rater (or every one of a group) rate the job, in one statement; how many
    raters got access now (those who had it keep it, with what they have read)."""
    job = load_job(session, job_id)
    raters = select(User.id, literal(job.id)).where(User.role == "rater", User.active.is_(True))
    if group is not None:
        raters = raters.where(User.rater_group == group)
    added = session.execute(
        insert_ignoring_conflicts(session, RaterJob)
        .from_select(["user_id", "job_id"], raters)
        .returning(RaterJob.user_id)
    ).all()
    return len(added)


def close_job(session: Session, job_id: int) -> None:
    """No rater may rate the job any more (their judgments stay)."""
    session.execute(delete(RaterJob).where(RaterJob.job_id == load_job(session, job_id).id))


def job_setup(session: Session, job_id: int, settings: Settings) -> JobSetup:
    job = load_job(session, job_id)
    human = human_settings(session, job.id, settings)
    allowed = session.scalar(select(func.count()).where(RaterJob.job_id == job.id)) or 0
    total = session.scalar(select(func.count()).where(User.role == "rater")) or 0
    return JobSetup(
        job=job,
        human=human,
        scale=scale_named(job.preference_scale),
        scale_locked=has_rater_judgments(session, job.id),
        guidelines=current_guidelines_text(session, job),
        raters_allowed=allowed,
        raters_total=total,
        groups=rater_groups(session),
        quality=job_quality(session, job.id, human),
    )


@dataclass(frozen=True)
class AdminJobRow:
    job: Job
    raters_allowed: int
    human_work: bool


def admin_jobs(session: Session, human_only: bool = False) -> list[AdminJobRow]:
    """Every job (or those with human work) with how many raters may rate it."""
    allowed = (
        select(func.count())
        .select_from(RaterJob)
        .where(RaterJob.job_id == Job.id)
        .scalar_subquery()
    )
    query = select(Job, allowed, has_human_work()).order_by(Job.id)
    if human_only:
        query = query.where(has_human_work())
    return [AdminJobRow(job, count, bool(human)) for job, count, human in session.execute(query)]
