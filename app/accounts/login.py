"""Logging in with an email and password: rate limits, password check, a new browser session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.browser_sessions import start_session
from app.accounts.login_limits import record_attempt, seconds_until_allowed
from app.accounts.secrets import hash_password, verify_password
from app.config import Settings
from app.db.models import User

# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginOutcome:
    cookie: str | None = None  # the new session's cookie value, when the login succeeded
    role: str | None = None
    refused: str | None = None  # why not, for the form
    status: int = 200
    retry_after: int | None = None


def log_in(
    session: Session, email: str, password: str, client_ip: str, settings: Settings
) -> LoginOutcome:
    email = email.strip().lower()
    wait = seconds_until_allowed(session, email, client_ip, settings)
    if wait:
        minutes = max(1, round(wait / 60))
        return LoginOutcome(
            refused=f"Too many failed logins. Try again in about {minutes} minute(s).",
            status=429,
            retry_after=wait,
        )
    user = session.scalar(select(User).where(User.email == email))
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        record_attempt(session, email, client_ip, succeeded=False)
        return LoginOutcome(refused="Wrong email or password.", status=401)
    record_attempt(session, email, client_ip, succeeded=True)
    cookie = start_session(session, user, settings.session_hours)
    return LoginOutcome(cookie=cookie, role=user.role)
