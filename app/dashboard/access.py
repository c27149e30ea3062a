"""Who may use the dashboard: researchers (their own jobs) and admins (every job)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db.models import Job, User
from app.web.deps import current_login
from app.web.errors import WebError
from app.web.sessions import Login


async def researcher_login(login: Annotated[Login, Depends(current_login)]) -> Login:
    if login.user.role not in ("researcher", "admin"):
        raise WebError(403, "The dashboard is for researchers and admins.")
    return login


ResearcherLogin = Annotated[Login, Depends(researcher_login)]


def visible_jobs(user: User) -> Select[tuple[Job]]:
    """SELECT of the jobs this user may see, for further filtering and ordering."""
    query = select(Job)
    if user.role != "admin":
        query = query.where(Job.owner_id == user.id)
    return query


def load_visible_job(db: Session, user: User, job_id: int) -> Job:
    """The job, or a 404 page: another researcher's job is reported as not found."""
    job = db.scalar(visible_jobs(user).where(Job.id == job_id))
    if job is None:
        raise WebError(404, f"There is no job {job_id} you can see.")
    return job
