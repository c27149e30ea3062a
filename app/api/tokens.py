"""API tokens of the caller (admins: of anyone): list, create, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.accounts.service import (
    MAX_TOKEN_DAYS,
    AccountError,
    TokenInfo,
    issue_token,
    list_tokens,
    revoke_token,
)
from app.api.responses import COMMON_RESPONSES, responses
from app.db.models import User
from app.db.paging import keyset_page
from app.db.values import INT32_MAX
from app.errors import RequestError, not_found
from app.http.deps import ApiUser, SessionDep
from app.http.pagination import AfterCursor, decode_cursor, page_cursor
from app.http.params import TokenId

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=COMMON_RESPONSES)

_TOKEN_EXAMPLE: dict[str, Any] = {
    "id": 4,
    "owner": "ada@example.org",
    "name": "laptop",
    "prefix": "pf_Xy12ab",
    "created_at": "2026-11-28T09:00:00Z",
    "last_used_at": "2026-11-28T10:12:00Z",
    "expires_at": "2027-02-26T09:00:00Z",
    "revoked_at": None,
}


class TokenOut(BaseModel):
    id: int
    owner: str = Field(description="The account's email.")
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded to the minute.")
    expires_at: datetime | None
    revoked_at: datetime | None

    model_config = ConfigDict(json_schema_extra={"examples": [_TOKEN_EXAMPLE]})

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(**info.__dict__)


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TOKEN_EXAMPLE], "next_cursor": None}]}
    )


class TokenCreate(BaseModel):
    name: str = Field("", max_length=200, description="What the token is for.")
    expires_in_days: float | None = Field(
        None, gt=0, le=MAX_TOKEN_DAYS, description="Refused after this many days; null: never."
    )

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"name": "laptop", "expires_in_days": 90}]},
    )


class NewToken(TokenOut):
    token: str = Field(description="The token itself; shown in this answer only.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_TOKEN_EXAMPLE, "token": "pf_Xy12ab…"}]}
    )


@router.get(
    "",
    response_model=TokenPage,
    summary="List API tokens (yours; admins: anyone's)",
    responses=responses(400, 403, 404),
)
def read_tokens(
    user: ApiUser,
    session: SessionDep,
    owner: Annotated[
        str | None,
        Query(
            max_length=320,
            description="Admins: an account's email, or `*` for every account. Default: yours.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: AfterCursor = None,
) -> TokenPage:
    if owner is not None and not user.is_admin and owner.strip().lower() != user.email:
        raise RequestError(403, "forbidden", "only admins may list other accounts' tokens")
    owner_id: int | None = user.id
    owner_email: str | None = None
    if owner == "*":
        owner_id = None
    elif owner is not None:
        if session.scalar(select(User.id).where(User.email == owner.strip().lower())) is None:
            raise not_found(f"account {owner!r}")
        owner_id, owner_email = None, owner
    tokens = list_tokens(
        session,
        owner_id=owner_id,
        owner_email=owner_email,
        after=decode_cursor(after, INT32_MAX),
        limit=limit + 1,
    )
    page = keyset_page(tokens, limit, lambda token: token.id)
    return TokenPage(items=[TokenOut.of(t) for t in page.items], next_cursor=page_cursor(page))


@router.post(
    "",
    response_model=NewToken,
    status_code=201,
    summary="Create an API token for yourself (shown once)",
    responses=responses(400),
)
def create(body: TokenCreate, user: ApiUser, session: SessionDep) -> NewToken:
    account = session.get(User, user.id)
    assert account is not None  # authenticated a moment ago
    try:
        issued = issue_token(session, account, body.name, expires_in_days=body.expires_in_days)
    except AccountError as exc:
        raise RequestError(422, "validation_error", str(exc)) from exc
    return NewToken(token=issued.token, **issued.info.__dict__)


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    summary="Revoke an API token (yours; admins: anyone's)",
    responses=responses(404),
)
def revoke(token_id: TokenId, user: ApiUser, session: SessionDep) -> TokenOut:
    try:
        info = revoke_token(session, token_id, owner_id=None if user.is_admin else user.id)
    except AccountError as exc:
        raise not_found(f"token {token_id}") from exc
    return TokenOut.of(info)
