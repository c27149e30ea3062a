"""Fixtures of the rating app tests: a human-routed job, raters with access, logged-in clients."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.accounts.browser_sessions import start_session
from app.config import Settings
from app.db.models import Annotation, Assignment, Comparison, RaterJob, User
from app.db.session import unit_of_work
from app.http.deps import SESSION_COOKIE
from app.rating.settings import save_human_settings

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSIGNMENT = re.compile(r'name="assignment_id" value="(\d+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def assignment_of(html: str) -> int | None:
    match = _ASSIGNMENT.search(html)
    return int(match.group(1)) if match else None


def comparison_rows(count: int, *, gold_every: int = 0, prefix: str = "c") -> list[dict[str, Any]]:
    """Distinct comparisons; with gold_every=n, every n-th has gold_preference 1 (output_1)."""
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            "id": f"{prefix}{i}",
            "instruction": f"Question {prefix}{i}: what is {i} + {i}?",
            "output_1": f"FIRST answer {i}: {2 * i}",
            "output_2": f"SECOND answer {i}: maybe {2 * i + 1}",
            "generator_1": "model-one",
            "generator_2": "model-two",
        }
        if gold_every and i % gold_every == 0:
            row["gold_preference"] = 1.0
        rows.append(row)
    return rows


@dataclass
class WebRater:
    id: int
    email: str
    client: TestClient
    csrf: str = ""

    def next_page(self, job_id: int) -> tuple[int | None, str]:
        page = self.client.get(f"/rate/{job_id}")
        assert page.status_code == 200, page.text
        self.csrf = csrf_of(page.text)
        return assignment_of(page.text), page.text

    def post(self, job_id: int, **form: Any) -> Any:
        return self.client.post(
            f"/rate/{job_id}/judgments",
            data={"csrf_token": self.csrf, **form},
            follow_redirects=False,
        )

    def judge(
        self, job_id: int, assignment_id: int, choice: str, reason: str = "", **form: Any
    ) -> Any:
        return self.post(
            job_id,
            assignment_id=assignment_id,
            action="submit",
            choice=choice,
            reason=reason,
            **form,
        )

    def revise(self, job_id: int, assignment_id: int, choice: str, reason: str = "") -> Any:
        return self.post(
            job_id, assignment_id=assignment_id, action="revise", choice=choice, reason=reason
        )

    def read_guidelines(self, job_id: int) -> Any:
        """Open the job's guidelines page and confirm reading its current version."""
        page = self.client.get(f"/rate/{job_id}/guidelines")
        version = re.search(r'name="version" value="(\d+)"', page.text)
        assert version, "the guidelines page asks for no confirmation"
        return self.client.post(
            f"/rate/{job_id}/guidelines",
            data={"csrf_token": csrf_of(page.text), "version": version.group(1)},
            follow_redirects=False,
        )

    def skip(self, job_id: int, assignment_id: int) -> Any:
        return self.post(job_id, assignment_id=assignment_id, action="skip")


def web_login(client: TestClient, email: str, password: str) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


ADMIN_PASSWORD = "admin password"


def page_csrf(client: TestClient, path: str = "/admin/raters") -> str:
    """The CSRF token of the page at `path` (every form of a login session has the same)."""
    return csrf_of(client.get(path).text)


@pytest.fixture
def admin_client(make_account, client: TestClient) -> TestClient:
    """The test client, logged in as an admin through the login form."""
    admin = make_account("admin", password=ADMIN_PASSWORD)
    assert web_login(client, admin.email, ADMIN_PASSWORD).headers["location"] == "/admin/raters"
    return client


@pytest.fixture
def human_job(researcher, make_job, client: TestClient) -> Callable[..., dict[str, Any]]:
    """A job routed to humans with the given comparisons (default: 10 plain ones), created with
    the given job fields (e.g. a preference scale, guidelines) and human settings."""

    def make(
        k: int = 1,
        rows: list[dict[str, Any]] | None = None,
        job_fields: dict[str, Any] | None = None,
        **settings: Any,
    ) -> dict[str, Any]:
        job = make_job(
            researcher, routing={"policy": "human"}, human_overlap=k, **(job_fields or {})
        )
        response = client.post(
            f"/api/v1/jobs/{job['id']}/comparisons",
            json=rows if rows is not None else comparison_rows(10),
            headers=researcher.headers,
        )
        assert response.status_code in (200, 201), response.text
        if settings:
            with unit_of_work(client.app.state.engine) as session:
                save_human_settings(session, job["id"], **settings)
        return job

    return make


@pytest.fixture
def make_rater(
    make_account, app: FastAPI, engine: Engine, settings: Settings
) -> Iterator[Callable[..., WebRater]]:
    """A rater allowed on the given jobs, with its own logged-in client.

    The session is started directly (the login page has its own tests), which spares an
    argon2 hash and check per rater.
    """
    clients: list[TestClient] = []

    def make(*job_ids: int) -> WebRater:
        account = make_account("rater")
        client = TestClient(app)
        clients.append(client)
        with unit_of_work(engine) as session:
            session.add_all(RaterJob(user_id=account.id, job_id=job_id) for job_id in job_ids)
            user = session.get_one(User, account.id)
            client.cookies.set(SESSION_COOKIE, start_session(session, user, settings.session_hours))
        return WebRater(account.id, account.email, client)

    yield make
    for client in clients:
        client.close()


def judgments_of(db: Session, job_id: int) -> list[Annotation]:
    db.expire_all()
    return list(db.scalars(select(Annotation).where(Annotation.job_id == job_id)))


def assignments_of(db: Session, job_id: int) -> list[Assignment]:
    db.expire_all()
    return list(db.scalars(select(Assignment).where(Assignment.job_id == job_id)))


def comparison_by_external_id(db: Session, job_id: int, external_id: str) -> Comparison:
    comparison = db.scalar(
        select(Comparison).where(Comparison.job_id == job_id, Comparison.external_id == external_id)
    )
    assert comparison is not None
    return comparison


# Browser tests: Debian's chromium, headless, driven by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_PASSWORD = "browser rater password"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
REPOSITORY = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("PREFARM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")  # one Playwright per module: tests/dashboard imports it too
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser, live_url):
    """A new desktop page (1400 x 900) in a context of its own (its own cookies)."""
    from tests.web.accessibility import serve_axe

    contexts = []

    def open_(**options: Any) -> Any:
        context = browser.new_context(base_url=live_url, **{"viewport": DESKTOP, **options})
        serve_axe(context)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def open_phone(open_page):
    """A new page as a phone shows it: 390 x 844, touch, a coarse pointer."""

    def open_() -> Any:
        return open_page(viewport=PHONE, is_mobile=True, has_touch=True)

    return open_


def screenshot_dir() -> Path:
    """Where the browser tests save screenshots (.ci/run lists them when a run fails)."""
    root = Path(os.environ.get("PREFARM_TEST_ARTIFACTS") or REPOSITORY / "test-artifacts")
    folder = root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _settled(page: Any) -> None:
    """Two animation frames: media queries and the script's layout have applied."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@pytest.fixture
def check_page(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Check the page as it is now at 1400 x 900 and at 390 x 844: no serious or critical axe
    violation at either size, and a screenshot of each, named after the test and `name`."""
    from tests.web.accessibility import serious_violations

    def check(page: Any, name: str, sizes: tuple[dict[str, int], ...] = (DESKTOP, PHONE)) -> None:
        before = page.viewport_size
        for size in sizes:
            page.set_viewport_size(size)
            _settled(page)
            file = f"{request.node.name}-{name}-{size['width']}x{size['height']}.png"
            page.screenshot(path=str(screenshot_dir() / file), full_page=True)
            violations = serious_violations(page)
            assert violations == [], f"axe at {size['width']} px on {name}: {violations}"
        page.set_viewport_size(before)
        _settled(page)

    return check


def log_in(page: Any, email: str, password: str = BROWSER_PASSWORD) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def browser_rater(make_account: Callable[..., Any], engine: Engine, *job_ids: int) -> Any:
    """A rater with a password (to log in through the form) allowed on the given jobs."""
    account = make_account("rater", password=BROWSER_PASSWORD)
    with unit_of_work(engine) as session:
        session.add_all(RaterJob(user_id=account.id, job_id=job_id) for job_id in job_ids)
    return account
