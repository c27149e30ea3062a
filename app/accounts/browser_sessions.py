"""Browser logins kept in the database (any server process can check them; logout is final).

The cookie carries a random token; the table keeps only its SHA-256, the user, the expiry and
the session's CSRF token, which every form posts back.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, bindparam, delete, select
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.accounts.secrets import token_sha256
from app.db.models import User, WebSession
from app.db.session import plain_connection


@dataclass(frozen=True)
class Login:
    user: Account
    csrf_token: str
    token_sha256: str


def start_session(session: Session, user: User, hours: float) -> str:
    """Store a new browser session for this user and return the cookie value."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        WebSession(
            token_sha256=token_sha256(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    # Expired sessions of this user are cleaned up here, so the table does not grow forever.
    session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at < now)
    )
    return token


# Every page request runs it: built once (building a statement costs more than running it), and
# run as a plain statement on the session's connection: no User row is loaded into the session.
_LOGIN_LOOKUP = (
    select(
        WebSession.csrf_token,
        WebSession.expires_at,
        User.active,
        User.id,
        User.email,
        User.role,
        User.paused_at,
        User.paused_reason,
        User.qc_since,
    )
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_sha256 == bindparam("digest", type_=String))
)


def find_login(session: Session, cookie: str | None) -> Login | None:
    if not cookie:
        return None
    digest = token_sha256(cookie)
    row = plain_connection(session).execute(_LOGIN_LOOKUP, {"digest": digest}).first()
    if row is None or row.expires_at <= datetime.now(UTC) or not row.active:
        return None
    user = Account(row.id, row.email, row.role, row.paused_at, row.paused_reason, row.qc_since)
    return Login(user=user, csrf_token=row.csrf_token, token_sha256=digest)


def end_session(session: Session, login: Login) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == login.token_sha256))


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
