"""Pages refuse input the database cannot hold with an HTML error page, and store nothing:
ids outside the range of their column in rating, admin and dashboard URLs (an address that leads
nowhere: 404), and out-of-range ids or NUL characters in form fields and queries (422)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.models import User
from app.db.values import INT32_MAX, INT64_MAX
from tests.web.conftest import csrf_of, judgments_of, web_login

PASSWORD = "a long enough password"


def assert_error_page(response, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


@pytest.fixture
def admin_client(make_account, client: TestClient) -> TestClient:
    admin = make_account("admin", password=PASSWORD)
    web_login(client, admin.email, PASSWORD)
    return client


@pytest.mark.parametrize("big", [INT32_MAX + 1, 99999999999])
def test_rating_urls_with_an_id_out_of_range_show_an_error_page(make_rater, human_job, big):
    rater = make_rater(human_job()["id"])

    assert_error_page(rater.client.get(f"/rate/{big}"), 404)
    assert_error_page(rater.client.post(f"/rate/{big}/judgments", data={"assignment_id": 1}), 404)


def test_an_assignment_id_out_of_range_is_refused(make_rater, human_job, db):
    job = human_job()
    rater = make_rater(job["id"])
    rater.next_page(job["id"])

    response = rater.judge(job["id"], INT64_MAX + 1, "A")

    assert_error_page(response)
    assert judgments_of(db, job["id"]) == []


def test_a_reason_with_a_nul_character_is_refused_and_nothing_is_stored(make_rater, human_job, db):
    job = human_job()
    rater = make_rater(job["id"])
    assignment, _ = rater.next_page(job["id"])

    response = rater.judge(job["id"], assignment, "A", reason="fine\x00")

    assert_error_page(response)
    assert "NUL" in response.text
    assert judgments_of(db, job["id"]) == []


@pytest.mark.parametrize(
    "path", ["/admin/raters/{big}", "/admin/jobs/{big}", "/admin/raters/{big}/pause"]
)
def test_admin_urls_with_an_id_out_of_range_show_an_error_page(admin_client, path):
    url = path.format(big=INT32_MAX + 1)
    if url.endswith("/pause"):
        response = admin_client.post(url, data={"csrf_token": csrf_of(_raters(admin_client))})
    else:
        response = admin_client.get(url)

    assert_error_page(response, 404)


def test_an_admin_form_with_a_nul_character_creates_nothing(admin_client, db):
    response = admin_client.post(
        "/admin/raters",
        data={
            "email": "new\x00@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_of(_raters(admin_client)),
        },
    )

    assert_error_page(response)
    assert db.scalars(select(User).where(User.role == "rater")).all() == []


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/jobs/{big}",
        "/dashboard/jobs/{big}/progress",
        "/dashboard/jobs/{big}/statistics",
        "/dashboard/jobs/1/comparisons/{huge}",
    ],
)
def test_dashboard_urls_with_an_id_out_of_range_show_an_error_page(admin_client, path):
    response = admin_client.get(path.format(big=INT32_MAX + 1, huge=INT64_MAX + 1))

    assert_error_page(response, 404)


def test_a_dashboard_query_with_an_id_out_of_range_shows_an_error_page(admin_client):
    response = admin_client.get(f"/dashboard?before={INT32_MAX + 1}")

    assert_error_page(response)


def test_a_login_with_a_nul_character_is_refused(client: TestClient):
    page = client.get("/login")

    response = client.post(
        "/login",
        data={"email": "a\x00@b.org", "password": "x", "csrf_token": csrf_of(page.text)},
    )

    assert_error_page(response)


def _raters(client: TestClient) -> str:
    return client.get("/admin/raters").text


def test_a_judgment_form_without_its_assignment_is_refused(make_rater, human_job, db):
    job = human_job()
    rater = make_rater(job["id"])
    rater.next_page(job["id"])
    csrf = csrf_of(rater.client.get(f"/rate/{job['id']}").text)

    response = rater.client.post(f"/rate/{job['id']}/judgments", data={"csrf_token": csrf})

    assert_error_page(response)
    assert "assignment_id" in response.text
    assert judgments_of(db, job["id"]) == []


def test_a_form_without_a_login_is_sent_to_log_in_before_it_is_checked(client, human_job):
    job = human_job()

    response = client.post(f"/rate/{job['id']}/judgments", data={}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
