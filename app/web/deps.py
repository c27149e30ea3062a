"""Page dependencies: who is logged in, with which role, and the CSRF check for forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.web.errors import LoginRequired, WebError
from app.web.sessions import SESSION_COOKIE, Login, find_login, tokens_match


def web_db(request: Request) -> Iterator[Session]:
    # Not app.http.deps: the API package mounts these pages, so importing it here would be circular.
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(web_db)]


async def settings_of(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def current_login(request: Request, db: SessionDep) -> Login:
    login = find_login(db, request.cookies.get(SESSION_COOKIE))
    if login is None:
        raise LoginRequired()
    return login


async def rater_login(login: Annotated[Login, Depends(current_login)]) -> Login:
    if login.user.role != "rater":
        raise WebError(403, "This page is for raters. Log in with a rater account.")
    return login


async def admin_login(login: Annotated[Login, Depends(current_login)]) -> Login:
    if login.user.role != "admin":
        raise WebError(403, "This page is for admins.")
    return login


AnyLogin = Annotated[Login, Depends(current_login)]
RaterLogin = Annotated[Login, Depends(rater_login)]
AdminLogin = Annotated[Login, Depends(admin_login)]


def check_csrf(login: Login, form_token: str | None) -> None:
    """Every state-changing form posts the session's CSRF token; a missing or wrong one is a 403."""
    if not tokens_match(login.csrf_token, form_token):
        raise WebError(403, "The form was stale or not sent by prefarm (CSRF check failed).")
