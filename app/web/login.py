"""Login and logout pages (raters, admins and researchers share them)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.browser_sessions import end_session, tokens_match
from app.accounts.login import log_in
from app.config import Settings
from app.http.deps import (
    SESSION_COOKIE,
    AnyLogin,
    MaybeLogin,
    SessionDep,
    SettingsDep,
    check_csrf,
)
from app.http.pages import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "prefarm_login_csrf"
# Where each role lands after logging in without a `next` page.
ROLE_HOME = {"rater": "/rate", "admin": "/admin/raters", "researcher": "/"}


def safe_next(target: str | None, role: str) -> str:
    """Only local paths: `next=//evil.example` must not send anyone elsewhere."""
    local = (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(ch.isprintable() and not ch.isspace() for ch in target)  # browsers drop tabs
    )
    return target if local and target else ROLE_HOME.get(role, "/")


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int
) -> None:
    secure = settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )


def _login_page(
    request: Request, settings: Settings, next_page: str, error: str | None, status: int
) -> Response:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"csrf_token": csrf, "next": next_page, "error": error}, status
    )
    set_cookie(response, request, settings, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@router.get("/login")
def login_form(
    request: Request, login: MaybeLogin, settings: SettingsDep, next: str = ""
) -> Response:
    if login is not None:
        return RedirectResponse(safe_next(next, login.user.role), status_code=303)
    return _login_page(request, settings, next, None, 200)


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE) or "", csrf_token):
        return _login_page(
            request, settings, next, "The login form had expired; please try again.", 403
        )
    client_ip = request.client.host if request.client else "unknown"
    outcome = log_in(session, email, password, client_ip, settings)
    if outcome.cookie is None or outcome.role is None:
        response = _login_page(request, settings, next, outcome.refused, outcome.status)
        if outcome.retry_after is not None:
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    response = RedirectResponse(safe_next(next, outcome.role), status_code=303)
    set_cookie(
        response,
        request,
        settings,
        SESSION_COOKIE,
        outcome.cookie,
        int(settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    login: AnyLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    end_session(session, login)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
