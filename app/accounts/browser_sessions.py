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


# Every page request runs it: built once (building a statement costs more than running it).
_LOGIN_LOOKUP = (
    select(WebSession.csrf_token, WebSession.expires_at, User)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_sha256 == bindparam("digest", type_=String))
)


def find_login(session: Session, cookie: str | None) -> Login | None:
    if not cookie:
        return None
    digest = token_sha256(cookie)
    row = session.execute(_LOGIN_LOOKUP, {"digest": digest}).first()
    if row is None or row.expires_at <= datetime.now(UTC) or not row.User.active:
        return None
    return Login(user=Account.of(row.User), csrf_token=row.csrf_token, token_sha256=digest)


def end_session(session: Session, login: Login) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == login.token_sha256))


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
