"""How a job is set up for raters: its guidelines and its preference scale.

Guidelines are Markdown shown to raters, versioned.
Setting a text different from the current one makes a new version (1, 2, …); setting the same
text again changes nothing. Old versions are kept, so the version recorded on each judgment
stays readable. An empty text is a version too: it withdraws the guidelines.

The preference scale (app/db/scales.py) can change only while the job has no human judgment:
the stored strengths mean levels of the scale they were given on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.db.models import Assignment, Job, JobGuidelines, User
from app.errors import RequestError

MAX_GUIDELINES_CHARS = 50_000


@dataclass(frozen=True)
class GuidelinesVersion:
    version: int
    text: str
    author: str | None
    created_at: datetime


def set_guidelines(session: Session, job: Job, text: str, author_id: int | None) -> bool:
    """Make `text` the job's guidelines; whether that made a new version."""
    text = text.strip()
    current = current_guidelines_text(session, job)
    if text == current or (not text and job.guidelines_version == 0):
        return False
    version = job.guidelines_version + 1
    session.add(JobGuidelines(job_id=job.id, version=version, text=text, author_id=author_id))
    job.guidelines_version = version
    session.flush()
    return True


def current_guidelines_text(session: Session, job: Job) -> str:
    if job.guidelines_version == 0:
        return ""
    text = session.scalar(
        select(JobGuidelines.text).where(
            JobGuidelines.job_id == job.id, JobGuidelines.version == job.guidelines_version
        )
    )
    return text or ""


def guidelines_history(session: Session, job_id: int) -> list[GuidelinesVersion]:
    """Every version, newest first."""
    rows = session.execute(
        select(JobGuidelines, User.email)
        .outerjoin(User, User.id == JobGuidelines.author_id)
        .where(JobGuidelines.job_id == job_id)
        .order_by(JobGuidelines.version.desc())
    ).all()
    return [
        GuidelinesVersion(version.version, version.text, email, version.created_at)
        for version, email in rows
    ]


def has_rater_judgments(session: Session, job_id: int) -> bool:
    """Whether a rater has submitted a judgment in the job (an index seek on assignments)."""
    submitted = exists().where(Assignment.job_id == job_id, Assignment.status == "submitted")
    return bool(session.scalar(select(submitted)))


def set_preference_scale(session: Session, job: Job, scale: str) -> None:
    """Change how raters answer; refused (409) once a rater has judged in the job."""
    if scale == job.preference_scale:
        return
    if has_rater_judgments(session, job.id):
        raise RequestError(
            409,
            "scale_locked",
            f"job {job.id} has human judgments on the {job.preference_scale} scale; "
            "its scale can no longer change",
            {"preference_scale": job.preference_scale},
        )
    job.preference_scale = scale
