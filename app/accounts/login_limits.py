"""Login rate limiting, kept in the database so it holds across server processes.

Failed logins are counted per email since its last success, and per client address, within a
sliding window; past the limit the login form answers 429 until the oldest failure ages out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import LoginAttempt

ADDRESS_FACTOR = 4  # an address may fail for a few emails (a shared office) before it is blocked


def seconds_until_allowed(session: Session, email: str, client_ip: str, settings: Settings) -> int:
    """0 if a login attempt may be made now, else how long to wait."""
    now = datetime.now(UTC)
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    last_success = session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    email_since = max(window_start, last_success) if last_success else window_start
    waits = [
        _wait(
            session, LoginAttempt.email == email, email_since, settings.login_max_failures, settings
        ),
        _wait(
            session,
            LoginAttempt.client_ip == client_ip,
            window_start,
            settings.login_max_failures * ADDRESS_FACTOR,
            settings,
        ),
    ]
    return max(waits)


def _wait(
    session: Session, who: ColumnElement[bool], since: datetime, limit: int, settings: Settings
) -> int:
    failures = list(
        session.scalars(
            select(LoginAttempt.created_at)
            .where(who, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since)
            .order_by(LoginAttempt.created_at.desc())
            .limit(limit)
        )
    )
    if len(failures) < limit:
        return 0
    # Allowed again once the oldest of the last `limit` failures leaves the window.
    frees_at = failures[-1] + timedelta(seconds=settings.login_window_seconds)
    return max(1, int((frees_at - datetime.now(UTC)).total_seconds()) + 1)


def record_attempt(session: Session, email: str, client_ip: str, succeeded: bool) -> None:
    session.add(
        LoginAttempt(
            email=email, client_ip=client_ip, succeeded=succeeded, created_at=datetime.now(UTC)
        )
    )
