"""Creating users and tokens, and finding the user behind a token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
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


MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class TokenInfo:
    """A token as listings show it: never the token itself, which only its creator ever sees."""

    id: int
    owner: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken, owner: str) -> TokenInfo:
        return cls(
            id=token.id,
            owner=owner,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
        )


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    info: TokenInfo


def issue_token(
    session: Session, user: User, name: str = "", *, expires_in_days: float | None = None
) -> IssuedToken:
    """Store a new token's hash; the token itself is in the answer only, shown this once."""
    if user.role == "rater":
        raise AccountError("raters use the web pages and get no API token")
    if expires_in_days is not None and not 0 < expires_in_days <= MAX_TOKEN_DAYS:
        raise AccountError(f"a token expires after more than 0 and at most {MAX_TOKEN_DAYS} days")
    token = new_api_token()
    now = datetime.now(UTC)
    row = ApiToken(
        user_id=user.id,
        token_sha256=token_sha256(token),
        prefix=display_prefix(token),
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token, TokenInfo.of(row, user.email))


def create_token(
    session: Session, user: User, name: str = "", *, expires_in_days: float | None = None
) -> str:
    """A new token for `user` (see `issue_token`)."""
    return issue_token(session, user, name, expires_in_days=expires_in_days).token


def list_tokens(
    session: Session,
    *,
    owner_email: str | None = None,
    owner_id: int | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[TokenInfo]:
    """Tokens of one account (by email or id), or of everyone; in id order after `after`."""
    query = (
        select(ApiToken, User.email)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id > after)
    )
    if owner_email is not None:
        query = query.where(User.id == find_user(session, owner_email).id)
    if owner_id is not None:
        query = query.where(User.id == owner_id)
    query = query.order_by(ApiToken.id)
    if limit is not None:
        query = query.limit(limit)
    return [TokenInfo.of(token, email) for token, email in session.execute(query)]


def revoke_token(session: Session, token_id: int, *, owner_id: int | None = None) -> TokenInfo:
    """Revoke a token (only one of `owner_id` when given); revoking twice keeps the first time."""
    query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
    query = query.where(ApiToken.id == token_id)
    if owner_id is not None:
        query = query.where(ApiToken.user_id == owner_id)
    row = session.execute(query.with_for_update(of=ApiToken)).first()
    if row is None:
        raise AccountError(f"no token with id {token_id}")
    token, email = row
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
    return TokenInfo.of(token, email)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user of a token that is neither revoked nor expired; records its last use."""
    now = datetime.now(UTC)
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_sha256 == token_sha256(token),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    ).first()
    if row is None:
        return None
    api_token, user = row
    if not user.active:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > _LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return user
