"""Who may use which route: every route of the app (read from its route table, so a new route
without a row here fails) for each of eight callers, each with an API token and a browser
session of its own: anonymous, a bad token, a revoked token (and ended session), a deactivated
account, a rater, the owner of the job, another researcher, an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update

from app.accounts.browser_sessions import start_session
from app.accounts.secrets import display_prefix, new_api_token, token_sha256
from app.config import Settings
from app.db.models import ApiToken, Comparison, RaterJob, User, WebSession
from app.db.session import unit_of_work
from app.http.deps import SESSION_COOKIE
from app.server import create_app
from app.web.login import LOGIN_CSRF_COOKIE

IDENTITIES = (
    "anonymous",
    "bad token",
    "revoked token",
    "deactivated user",
    "rater",
    "researcher owner",
    "other researcher",
    "admin",
)
SIGNED_OUT = ("anonymous", "bad token", "revoked token", "deactivated user")

# Route classes, by who may use a route.
PUBLIC = "public"  # anyone; the answer may depend on who asks, but it is never a refusal
API = "api"  # researchers and admins by token
API_JOB = "api_job"  # the job's owner and admins by token; another researcher gets 404
ANY_LOGIN = "any_login"  # any browser session
RATER_PAGE = "rater_page"
ADMIN_PAGE = "admin_page"
DASHBOARD = "dashboard"  # researchers and admins by browser session
DASHBOARD_JOB = "dashboard_job"  # the job's owner and admins; another researcher gets 404

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # unless PREFARM_METRICS_TOKEN is set (tests/observability)
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/dashboard/static/{name}"): PUBLIC,
    ("POST", "/api/v1/jobs"): API,
    ("GET", "/api/v1/jobs"): API,
    ("GET", "/api/v1/annotators"): API,
    ("POST", "/api/v1/annotators/validate"): API,
    ("POST", "/api/v1/comparisons/validate"): API,
    ("GET", "/api/v1/tokens"): API,
    ("POST", "/api/v1/tokens"): API,
    ("DELETE", "/api/v1/tokens/{token_id}"): API_JOB,  # a token of the job's owner
    ("GET", "/api/v1/annotators/{name}"): API,
    ("POST", "/api/v1/annotators"): API,
    ("GET", "/api/v1/jobs/{job_id}"): API_JOB,
    ("PATCH", "/api/v1/jobs/{job_id}"): API_JOB,
    ("DELETE", "/api/v1/jobs/{job_id}"): API_JOB,  # refused with 409 while it has comparisons
    ("POST", "/api/v1/jobs/{job_id}/comparisons"): API_JOB,
    ("GET", "/api/v1/jobs/{job_id}/comparisons"): API_JOB,
    ("POST", "/api/v1/jobs/{job_id}/annotations"): API_JOB,
    ("GET", "/api/v1/jobs/{job_id}/annotations"): API_JOB,
    ("GET", "/api/v1/jobs/{job_id}/stats"): API_JOB,
    ("POST", "/api/v1/jobs/{job_id}/tasks/retry"): API_JOB,
    ("GET", "/api/v1/jobs/{job_id}/export"): API_JOB,
    ("GET", "/api/v1/jobs/{job_id}/guidelines"): API_JOB,
    ("POST", "/logout"): ANY_LOGIN,
    ("GET", "/rate"): RATER_PAGE,
    ("GET", "/rate/{job_id}"): RATER_PAGE,
    ("POST", "/rate/{job_id}/judgments"): RATER_PAGE,
    ("GET", "/rate/{job_id}/guidelines"): RATER_PAGE,
    ("POST", "/rate/{job_id}/guidelines"): RATER_PAGE,
    ("GET", "/rate/{job_id}/revise/{assignment_id}"): RATER_PAGE,
    ("GET", "/admin"): ADMIN_PAGE,
    ("GET", "/admin/raters"): ADMIN_PAGE,
    ("POST", "/admin/raters"): ADMIN_PAGE,
    ("GET", "/admin/raters/{user_id}"): ADMIN_PAGE,
    ("POST", "/admin/raters/{user_id}/pause"): ADMIN_PAGE,
    ("POST", "/admin/raters/{user_id}/unpause"): ADMIN_PAGE,
    ("POST", "/admin/raters/{user_id}/password"): ADMIN_PAGE,
    ("POST", "/admin/raters/{user_id}/jobs"): ADMIN_PAGE,
    ("POST", "/admin/raters/{user_id}/group"): ADMIN_PAGE,
    ("GET", "/admin/jobs"): ADMIN_PAGE,
    ("GET", "/admin/jobs/{job_id}"): ADMIN_PAGE,
    ("POST", "/admin/jobs/{job_id}/settings"): ADMIN_PAGE,
    ("POST", "/admin/jobs/{job_id}/rating"): ADMIN_PAGE,
    ("POST", "/admin/jobs/{job_id}/access"): ADMIN_PAGE,
    ("GET", "/dashboard"): DASHBOARD,
    ("GET", "/dashboard/jobs/{job_id}"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/statistics"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/progress"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/export"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/disagreements"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/comparisons/{comparison_id}"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/charts/{name}.svg"): DASHBOARD_JOB,
    ("GET", "/dashboard/jobs/{job_id}/statistics/{table}.csv"): DASHBOARD_JOB,
}

# What each caller gets from each class: "ok" (served: any answer but a refusal), a status, or
# "login" (a redirect to the login form that comes back to the page).
_PAGE_ROLES = {
    RATER_PAGE: {"rater"},
    ADMIN_PAGE: {"admin"},
    DASHBOARD: {"researcher owner", "other researcher", "admin"},
    DASHBOARD_JOB: {"researcher owner", "admin"},
    ANY_LOGIN: {"rater", "researcher owner", "other researcher", "admin"},
}


def expected(route_class: str, identity: str) -> str:
    if route_class == PUBLIC:
        return "ok"
    if route_class in (API, API_JOB):
        if identity in SIGNED_OUT:
            return "401"
        if identity == "rater":
            return "403"
        if route_class == API_JOB and identity == "other researcher":
            return "404"
        return "ok"
    if identity in SIGNED_OUT:
        return "login"
    if identity in _PAGE_ROLES[route_class]:
        return "ok"
    if route_class == DASHBOARD_JOB and identity == "other researcher":
        return "404"
    return "403"


def outcome(route_class: str, response: Any) -> str:
    assert response.status_code < 500, response.text
    if route_class == PUBLIC:  # e.g. a wrong password on the login form is a 401 page
        return "ok"
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/login?next="):
        return "login"
    if response.status_code in (401, 403, 404):
        return str(response.status_code)
    assert response.status_code < 500, response.text
    return "ok"


def _app_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite://", inprocess_worker=False))
    found = set()
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None) or {"GET"}  # a mount serves GET
        found.update((method, context.path) for method in methods - {"HEAD"})
    return sorted(found)


APP_ROUTES = _app_routes()


def test_every_route_of_the_app_has_a_row_and_every_row_a_route() -> None:
    missing = [f"{method} {path}" for method, path in APP_ROUTES if (method, path) not in ROUTES]
    assert missing == [], "add these routes to ROUTES with who may use them"
    assert set(ROUTES) - set(APP_ROUTES) == set()


@dataclass
class World:
    """One job with a comparison, and the eight callers (token and session cookie each)."""

    job_id: int
    comparison_id: int
    rater_id: int
    assignment_id: int  # the rater's lease on the comparison
    owner_token_id: int  # a spare token of the job's owner, for the revoke route
    credentials: dict[str, tuple[str | None, str | None, str | None]]  # token, cookie, csrf


def _token_for(session: Any, user: User) -> tuple[str, ApiToken]:
    """A token stored directly: raters get none from `prefarm tokens create`, yet a rater's
    account may hold one from an earlier role, and it must not open the API."""
    token = new_api_token()
    row = ApiToken(
        user_id=user.id,
        token_sha256=token_sha256(token),
        prefix=display_prefix(token),
        name="matrix",
    )
    session.add(row)
    return token, row


@pytest.fixture
def world(client: TestClient, make_account, engine: Engine, settings: Settings) -> World:
    accounts = {
        "revoked token": make_account("researcher"),
        "deactivated user": make_account("researcher"),
        "rater": make_account("rater"),
        "researcher owner": make_account("researcher"),
        "other researcher": make_account("researcher"),
        "admin": make_account("admin"),
    }
    owner = accounts["researcher owner"]
    job = client.post(
        "/api/v1/jobs",
        json={"name": "matrix", "routing": {"policy": "human"}},
        headers=owner.headers,
    ).json()
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons",
        json=[{"id": "c1", "instruction": "q", "output_1": "a", "output_2": "b"}],
        headers=owner.headers,
    )
    imported = client.post(  # a judgment, so that the job's statistics and charts have data
        f"/api/v1/jobs/{job['id']}/annotations",
        json=[{"comparison_id": "c1", "annotator": "matrix-judge", "preference": 2.0}],
        headers=owner.headers,
    )
    assert imported.status_code == 200, imported.text
    credentials: dict[str, tuple[str | None, str | None, str | None]] = {
        "anonymous": (None, None, None),
        "bad token": ("pf_not-a-real-token", "not-a-real-session", None),
    }
    with unit_of_work(engine) as session:
        comparison_id = session.scalar(select(Comparison.id).where(Comparison.job_id == job["id"]))
        session.add(RaterJob(user_id=accounts["rater"].id, job_id=job["id"]))
        for identity, account in accounts.items():
            user = session.get_one(User, account.id)
            token = account.token or _token_for(session, user)[0]
            cookie = start_session(session, user, settings.session_hours)
            session.flush()
            csrf = session.scalar(
                select(WebSession.csrf_token).where(WebSession.token_sha256 == token_sha256(cookie))
            )
            credentials[identity] = (token, cookie, csrf)
        spare_token = _token_for(session, session.get_one(User, owner.id))[1]
        session.flush()
        owner_token_id = spare_token.id
        revoked = accounts["revoked token"].id
        session.execute(
            update(ApiToken).where(ApiToken.user_id == revoked).values(revoked_at=datetime.now(UTC))
        )
        session.execute(delete(WebSession).where(WebSession.user_id == revoked))
        session.execute(
            update(User).where(User.id == accounts["deactivated user"].id).values(active=False)
        )
    client.cookies.set(SESSION_COOKIE, credentials["rater"][1] or "")
    page = client.get(f"/rate/{job['id']}").text
    client.cookies.clear()
    assignment_id = int(page.split('name="assignment_id" value="')[1].split('"')[0])
    return World(
        job["id"], comparison_id, accounts["rater"].id, assignment_id, owner_token_id, credentials
    )


def _name_in(path: str) -> str:
    if path.startswith("/dashboard/static"):
        return "dashboard.js"
    if "/charts/" in path:
        return "ratings"
    return "longest"


def _request(client: TestClient, world: World, method: str, path: str, identity: str) -> Any:
    token, cookie, csrf = world.credentials[identity]
    url = path.format(
        job_id=world.job_id,
        user_id=world.rater_id,
        comparison_id=world.comparison_id,
        assignment_id=world.assignment_id,
        token_id=world.owner_token_id,
        name=_name_in(path),
        table="evaluators",
    )
    if url == "/static":
        url = "/static/app.css"
    params = {"format": "annotations"} if url.endswith("/export") else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client.cookies.clear()
    if cookie:
        client.cookies.set(SESSION_COOKIE, cookie)
    kwargs: dict[str, Any] = {"params": params, "headers": headers, "follow_redirects": False}
    if path == "/login":  # the login form's own CSRF cookie and token, a wrong password
        client.cookies.set(LOGIN_CSRF_COOKIE, "matrix-login-csrf")
        csrf = "matrix-login-csrf"
    if method in ("POST", "PATCH"):
        if path.startswith("/api/"):
            kwargs["json"] = _api_body(path)
        else:
            kwargs["data"] = {"csrf_token": csrf or "", **_form(path, world)}
    return client.request(method, url, **kwargs)


def _api_body(path: str) -> Any:
    if path == "/api/v1/jobs":
        return {"name": "made in the matrix"}
    if path.endswith("/comparisons"):
        return [{"id": "c2", "instruction": "q2", "output_1": "a", "output_2": "b"}]
    if path.endswith("/annotations"):
        return [{"comparison_id": "c1", "annotator": "matrix-judge", "preference": 1.0}]
    return {}


def _form(path: str, world: World) -> dict[str, Any]:
    return {
        "/login": {"email": "nobody@example.org", "password": "wrong password"},
        "/rate/{job_id}/judgments": {"assignment_id": world.assignment_id, "action": "skip"},
        "/admin/raters": {"email": "matrix-rater@example.org", "password": "long enough one"},
        "/admin/raters/{user_id}/password": {"password": "long enough one"},
    }.get(path, {})


@pytest.mark.parametrize("route", APP_ROUTES, ids=[f"{m} {p}" for m, p in APP_ROUTES])
def test_each_caller_gets_what_the_route_class_allows(
    client: TestClient, world: World, route: tuple[str, str]
) -> None:
    route_class = ROUTES.get(route)
    assert route_class is not None, f"{route} has no row in ROUTES"
    method, path = route

    got = {
        identity: outcome(route_class, _request(client, world, method, path, identity))
        for identity in IDENTITIES
    }

    assert got == {identity: expected(route_class, identity) for identity in IDENTITIES}
