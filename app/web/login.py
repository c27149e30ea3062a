"""Login and logout pages (raters, admins and researchers share them)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.accounts.secrets import hash_password, verify_password
from app.db.models import User
from app.web.deps import AnyLogin, SessionDep, SettingsDep, check_csrf
from app.web.ratelimit import record_attempt, seconds_until_allowed
from app.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    end_session,
    find_login,
    set_cookie,
    start_session,
    tokens_match,
)
from app.web.templating import render

router = APIRouter(include_in_schema=False)

# Where each role lands after logging in without a `next` page.
ROLE_HOME = {"rater": "/rate", "admin": "/admin/raters", "researcher": "/"}
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def safe_next(target: str | None, role: str) -> str:
    """Only local paths: `next=//evil.example` must not send anyone elsewhere."""
    local = (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(ch.isprintable() and not ch.isspace() for ch in target)  # browsers drop tabs
    )
    return target if local else ROLE_HOME.get(role, "/")


def _login_page(
    request: Request, settings: SettingsDep, next_page: str, error: str | None, status: int
) -> Response:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"csrf_token": csrf, "next": next_page, "error": error}, status
    )
    set_cookie(response, request, settings, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, db: SessionDep, settings: SettingsDep, next: str = "") -> Response:
    login = find_login(db, request.cookies.get(SESSION_COOKIE))
    if login is not None:
        return RedirectResponse(safe_next(next, login.user.role), status_code=303)
    return _login_page(request, settings, next, None, 200)


@router.post("/login")
def login_submit(
    request: Request,
    db: SessionDep,
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
    email = email.strip().lower()
    client_ip = request.client.host if request.client else "unknown"
    wait = seconds_until_allowed(db, email, client_ip, settings)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed logins. Try again in about {minutes} minute(s)."
        response = _login_page(request, settings, next, message, 429)
        response.headers["Retry-After"] = str(wait)
        return response

    user = db.scalar(select(User).where(User.email == email))
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        record_attempt(db, email, client_ip, succeeded=False)
        db.commit()
        return _login_page(request, settings, next, "Wrong email or password.", 401)

    record_attempt(db, email, client_ip, succeeded=True)
    token = start_session(db, user, settings)
    db.commit()
    response = RedirectResponse(safe_next(next, user.role), status_code=303)
    set_cookie(
        response, request, settings, SESSION_COOKIE, token, int(settings.session_hours * 3600)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    login: AnyLogin,
    db: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    end_session(db, login)
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
