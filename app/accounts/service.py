"""Creating users and tokens, and finding the user behind a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.secrets import display_prefix, hash_password, new_api_token, token_sha256
from app.db.models import ROLES, Annotator, ApiToken, User

# Writing last_used_at on every request would turn every read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    pass


def check_password(password: str) -> None:
    """The password policy, the same for the CLI and the admin pages."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, email: str, role: str, password: str | None = None) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError("email must contain @")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a user with email {email} exists already")
    if password is not None:
        check_password(password)
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password) if password else None,
        active=True,
    )
    session.add(user)
    session.flush()
    if role == "rater":
        session.add(Annotator(kind="human", name=f"human:{email}", user_id=user.id))
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password(password)
    user.password_hash = hash_password(password)


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"no user with email {email}")
    return user


def create_token(session: Session, user: User, name: str = "") -> str:
    """Store a new token's hash and return the token itself, which is shown only this once."""
    if user.role == "rater":
        raise AccountError("raters use the web pages and get no API token")
    token = new_api_token()
    session.add(
        ApiToken(
            user_id=user.id,
            token_sha256=token_sha256(token),
            prefix=display_prefix(token),
            name=name,
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_sha256 == token_sha256(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if not user.active:
        return None
    now = datetime.now(UTC)
    if api_token.last_used_at is None or now - api_token.last_used_at > _LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return user
