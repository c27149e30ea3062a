"""Which jobs an account may see: researchers their own, admins every job. Another researcher's
job is reported as not found, never as forbidden."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.db.models import Job
from app.errors import not_found


def visible_jobs(account: Account) -> Select[Job]:
    """SELECT of the jobs this account may see, for further filtering and ordering."""
    query = select(Job)
    if not account.is_admin:
        query = query.where(Job.owner_id == account.id)
    return query


def load_visible_job(
    session: Session, account: Account, job_id: int, *, for_update: bool = False
) -> Job:
    query = visible_jobs(account).where(Job.id == job_id)
    if for_update:
        query = query.with_for_update()
    job = session.scalar(query)
    if job is None:
        raise not_found(f"job {job_id}")
    return job
