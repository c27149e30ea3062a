"""Who sees what on the dashboard: researchers their own jobs, admins all, raters nothing."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import PASSWORD


def job_urls(job_id: int, comparison_id: int = 1) -> list[str]:
    base = f"/dashboard/jobs/{job_id}"
    return [
        base,
        f"{base}/progress",
        f"{base}/statistics",
        f"{base}/disagreements",
        f"{base}/comparisons/{comparison_id}",
        f"{base}/export?format=annotations",
    ]


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(client):
    response = client.get("/dashboard/jobs/3", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdashboard%2Fjobs%2F3"


def test_a_researcher_logs_in_through_the_login_page_and_lands_on_the_dashboard(
    web_researcher, logged_in
):
    browser = logged_in(web_researcher)
    response = browser.get("/")
    assert response.status_code == 200
    assert str(response.url).endswith("/dashboard")
    assert "<h1>Jobs</h1>" in response.text


def test_a_rater_gets_403_on_every_dashboard_page(make_account, researcher, judged_job, logged_in):
    job = judged_job(researcher)
    rater = make_account("rater", password=PASSWORD)
    browser = logged_in(rater)
    for url in ["/dashboard", *job_urls(job["id"])]:
        assert browser.get(url).status_code == 403, url


def test_a_researcher_sees_only_their_own_jobs_in_the_list(
    web_researcher, researcher, judged_job, logged_in
):
    own = judged_job(web_researcher, name="mine")
    other = judged_job(researcher, name="somebody else's")
    page = logged_in(web_researcher).get("/dashboard").text
    assert f'href="/dashboard/jobs/{own["id"]}"' in page
    assert f'href="/dashboard/jobs/{other["id"]}"' not in page
    assert "somebody else&#39;s" not in page


def test_another_researchers_job_is_not_found_on_every_page(
    web_researcher, researcher, judged_job, logged_in, db
):
    other = judged_job(researcher)
    browser = logged_in(web_researcher)
    for url in job_urls(other["id"]):
        assert browser.get(url).status_code == 404, url


def test_an_admin_sees_every_job_with_its_owner(make_account, researcher, judged_job, logged_in):
    admin = make_account("admin", password=PASSWORD)
    first = judged_job(researcher, name="first job")
    second = judged_job(admin, name="second job")
    browser = logged_in(admin)
    page = browser.get("/dashboard").text
    assert "first job" in page and "second job" in page
    assert researcher.email in page
    for url in job_urls(first["id"])[:3]:
        assert browser.get(url).status_code == 200, url
    assert browser.get(f"/dashboard/jobs/{second['id']}").status_code == 200


@pytest.mark.parametrize("path", ["/dashboard/static/app.py", "/dashboard/static/..%2Fjob.html"])
def test_only_the_dashboard_script_and_stylesheet_are_served(client, path):
    assert client.get(path).status_code == 404
    assert client.get("/dashboard/static/dashboard.js").status_code == 200
