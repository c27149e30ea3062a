"""Logging in and out: argon2 passwords, session cookies, CSRF, rate limiting."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db.models import WebSession
from app.http.deps import SESSION_COOKIE
from app.web.login import LOGIN_CSRF_COOKIE
from tests.web.conftest import csrf_of, web_login

PASSWORD = "a long rater password"


@pytest.fixture
def rater(make_account):
    return make_account("rater", password=PASSWORD)


def test_a_rater_logs_in_and_lands_on_their_jobs(client: TestClient, rater, db):
    response = web_login(client, rater.email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/rate"
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/rate").status_code == 200
    stored = db.scalar(select(WebSession.token_sha256))
    assert stored != client.cookies.get(SESSION_COOKIE), "only the token's hash is stored"


def test_a_wrong_password_is_refused(client: TestClient, rater):
    response = web_login(client, rater.email, "not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert client.get("/rate", follow_redirects=False).status_code == 303


def test_pages_need_a_login_and_return_to_where_the_rater_was_going(client: TestClient, rater):
    response = client.get("/rate/7", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Frate%2F7"
    page = client.get("/login?next=/rate/7")
    login = client.post(
        "/login",
        data={
            "email": rater.email,
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/rate/7",
        },
        follow_redirects=False,
    )
    assert login.headers["location"] == "/rate/7"


def test_a_login_without_the_forms_csrf_token_is_refused(client: TestClient, rater, db):
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": rater.email, "password": PASSWORD, "csrf_token": "guessed"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0


def test_logout_ends_the_session_for_good(client: TestClient, rater, db):
    web_login(client, rater.email, PASSWORD)
    token = client.cookies.get(SESSION_COOKIE)
    page = client.get("/rate")
    response = client.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0
    replay = TestClient(client.app, cookies={SESSION_COOKIE: token})
    assert replay.get("/rate", follow_redirects=False).status_code == 303


def test_logout_needs_the_csrf_token(client: TestClient, rater, db):
    web_login(client, rater.email, PASSWORD)
    response = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/rate").status_code == 200


def test_logins_are_rate_limited_per_email(client: TestClient, rater, settings):
    for _ in range(settings.login_max_failures):
        assert web_login(client, rater.email, "wrong").status_code == 401
    blocked = web_login(client, rater.email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed logins" in blocked.text
    assert client.get("/rate", follow_redirects=False).status_code == 303


def test_the_limit_counts_failures_since_the_last_success(client: TestClient, rater, settings):
    for _ in range(settings.login_max_failures - 1):
        web_login(client, rater.email, "wrong")
    assert web_login(client, rater.email, PASSWORD).status_code == 303
    client.cookies.clear()
    assert web_login(client, rater.email, "wrong").status_code == 401
    assert web_login(client, rater.email, PASSWORD).status_code == 303


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(client: TestClient):
    response = web_login(client, "nobody@example.org", "whatever")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text


def test_a_deactivated_account_cannot_log_in(client: TestClient, rater, db):
    from app.db.models import User

    user = db.get(User, rater.id)
    user.active = False
    db.commit()
    assert web_login(client, rater.email, PASSWORD).status_code == 401


def test_the_login_form_sets_its_own_csrf_cookie(client: TestClient):
    page = client.get("/login")
    assert client.cookies.get(LOGIN_CSRF_COOKIE) == csrf_of(page.text)
    assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "https://evil.example"])
def test_next_cannot_be_bent_into_another_site(client: TestClient, rater, target):
    page = client.get("/login")
    login = client.post(
        "/login",
        data={
            "email": rater.email,
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": target,
        },
        follow_redirects=False,
    )
    assert login.headers["location"] == "/rate"
