"""Request-scoped dependencies: the database session and the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.service import user_for_token
from app.db.models import Job, User
from app.http.errors import ApiError, not_found

_bearer = HTTPBearer(auto_error=False, description="An API token from `prefarm tokens create`.")


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "send an API token as `Authorization: Bearer <token>`")
    user = user_for_token(session, credentials.credentials)
    if user is None:
        raise ApiError(
            401, "unauthorized", "the API token is unknown, revoked or its user inactive"
        )
    session.commit()  # keeps last_used_at
    return user


def api_user(user: Annotated[User, Depends(current_user)]) -> User:
    """Researchers and admins; raters work through the web pages only."""
    if user.role not in ("admin", "researcher"):
        raise ApiError(403, "forbidden", "raters have no API access to jobs")
    return user


ApiUser = Annotated[User, Depends(api_user)]


def load_job(session: Session, user: User, job_id: int, *, for_update: bool = False) -> Job:
    """The job if this user may see it. Another researcher's job is reported as not found."""
    query = select(Job).where(Job.id == job_id)
    if user.role != "admin":
        query = query.where(Job.owner_id == user.id)
    if for_update:
        query = query.with_for_update()
    job = session.scalar(query)
    if job is None:
        raise not_found(f"job {job_id}")
    return job
