"""Request dependencies shared by the API, the rating pages and the dashboard.

- `SessionDep`: the request's unit of work. Handlers and the domain functions they call use this
  one Session and never commit; it is committed when the handler returns (before the response
  is sent) and rolled back when the handler raises.
- Who is calling: `ApiUser` (a bearer token of a researcher or admin), `AdminLogin`,
  `ResearcherLogin` (a browser session of that role), a rater (`rater_unit_of_work`).
  Authentication runs in a unit of work of its own, before the request's: it records a token's
  last use whatever the request does, and a long upload does not hold a transaction open. The
  rating pages are the exception: `rater_unit_of_work` reads the login in the request's own
  unit of work, opened in the handler. Handlers get an `Account` snapshot, not a live `User`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.accounts.browser_sessions import Login, find_login, tokens_match
from app.accounts.identity import Account
from app.accounts.service import user_for_token
from app.config import Settings
from app.db.session import unit_of_work
from app.errors import RequestError
from app.stats.service import BackgroundStatistics, StatisticsLimits

SESSION_COOKIE = "prefarm_session"
_bearer = HTTPBearer(auto_error=False, description="An API token from `prefarm tokens create`.")


class LoginRequired(Exception):
    """No valid browser session came with a page request: pages redirect to the login form."""


def request_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def request_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def request_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work. A Session touches the database only when it is first used
    (in the handler's thread), so it is made here, on the event loop; only the commit or
    rollback of a transaction the handler began goes to a thread."""
    with Session(request_engine(request), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            await _in_thread_if_begun(session, session.rollback)
            raise
        await _in_thread_if_begun(session, session.commit)


@dataclass(frozen=True)
class StatisticsRunner:
    """This process's background statistics pool and the limits a request computes within."""

    background: BackgroundStatistics
    limits: StatisticsLimits
    max_bootstrap: int


async def request_statistics(request: Request) -> StatisticsRunner:
    settings = request_settings(request)
    return StatisticsRunner(
        background=request.app.state.statistics,
        limits=StatisticsLimits(
            time_budget_seconds=settings.stats_time_budget_seconds,
            background_budget_seconds=settings.stats_background_budget_seconds,
            inline_max_judgments=settings.stats_inline_max_judgments,
        ),
        max_bootstrap=settings.stats_max_bootstrap,
    )


async def _in_thread_if_begun(session: Session, end: Callable[[], None]) -> None:
    if not session.in_transaction():
        end()
        return
    # Not in the request threads' pool: a transaction holding row locks must be able to end
    # while every request thread waits for those locks (FastAPI ends its own dependencies so).
    await anyio.to_thread.run_sync(end, limiter=anyio.CapacityLimiter(1))


# The dependencies below that only read the request are `async def`: FastAPI runs a plain `def`
# dependency in its thread pool, and those hops cost more CPU than the rating page's queries.
async def _settings_dependency(request: Request) -> Settings:
    return request_settings(request)


async def _engine_dependency(request: Request) -> Engine:
    return request_engine(request)


SessionDep = Annotated[Session, Depends(request_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
StatisticsDep = Annotated[StatisticsRunner, Depends(request_statistics)]
EngineDep = Annotated[Engine, Depends(_engine_dependency)]


def api_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    """A researcher or an admin, by API token; raters work through the web pages only."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise RequestError(
            401, "unauthorized", "send an API token as `Authorization: Bearer <token>`"
        )
    with unit_of_work(request_engine(request)) as session:
        user = user_for_token(session, credentials.credentials)
        account = Account.of(user) if user is not None else None
    if account is None:
        raise RequestError(
            401, "unauthorized", "the API token is unknown, revoked or its user inactive"
        )
    if account.role not in ("admin", "researcher"):
        raise RequestError(403, "forbidden", "raters have no API access to jobs")
    return account


ApiUser = Annotated[Account, Depends(api_user)]


def optional_login(request: Request) -> Login | None:
    """The browser session that came with the request, if it is valid."""
    with unit_of_work(request_engine(request)) as session:
        return find_login(session, request.cookies.get(SESSION_COOKIE))


async def browser_login(login: Annotated[Login | None, Depends(optional_login)]) -> Login:
    if login is None:
        raise LoginRequired()
    return login


def _role(*roles: str, refusal: str) -> object:
    async def check(login: Annotated[Login, Depends(browser_login)]) -> Login:
        if login.user.role not in roles:
            raise RequestError(403, "forbidden", refusal)
        return login

    return check


AnyLogin = Annotated[Login, Depends(browser_login)]
MaybeLogin = Annotated[Login | None, Depends(optional_login)]


def rater_login(request: Request, session: Session) -> Login:
    """A rater's browser session, read in the request's own unit of work (see
    `rater_unit_of_work`)."""
    login = find_login(session, request.cookies.get(SESSION_COOKIE))
    if login is None:
        raise LoginRequired()
    if login.user.role != "rater":
        raise RequestError(
            403, "forbidden", "This page is for raters. Log in with a rater account."
        )
    return login


@contextmanager
def rater_unit_of_work(request: Request) -> Iterator[tuple[Session, Login]]:
    """The rating pages' unit of work, with the rater's login read in it. A handler opens it in
    its own thread: one thread hop serves the whole request (a dependency costs one each way),
    and the transaction, with the row locks its lease or judgment took, ends before the page
    is rendered rather than after. The rating pages are the hottest path of the service."""
    with unit_of_work(request_engine(request)) as session:
        yield session, rater_login(request, session)


AdminLogin = Annotated[Login, Depends(_role("admin", refusal="This page is for admins."))]
ResearcherLogin = Annotated[
    Login,
    Depends(_role("researcher", "admin", refusal="The dashboard is for researchers and admins.")),
]


def check_csrf(login: Login, form_token: str | None) -> None:
    """Every state-changing form posts the session's CSRF token; a missing or wrong one is a 403."""
    if not tokens_match(login.csrf_token, form_token):
        raise RequestError(
            403, "csrf_failed", "The form was stale or not sent by prefarm (CSRF check failed)."
        )
