"""Error pages of the web app: unknown addresses under /rate and /admin answer an HTML page with
a way back, while the API keeps answering JSON."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/rate/1/no-such-page", "/rate/abc", "/rate/1/revise/x"])
def test_an_unknown_address_under_rate_is_an_html_404_page(make_rater, human_job, path):
    rater = make_rater(human_job()["id"])
    response = rater.client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text
    assert '<a href="/">Back to your start page</a>' in response.text


@pytest.mark.parametrize("path", ["/admin/nothing-here", "/admin/jobs/abc", "/admin/raters/1/x"])
def test_an_unknown_address_under_admin_is_an_html_404_page(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text


def test_a_job_the_rater_may_not_rate_is_an_html_404_page(make_rater, human_job):
    rater = make_rater(human_job()["id"])
    other = human_job()
    response = rater.client.get(f"/rate/{other['id']}")
    assert response.status_code == 404 and "that you may rate" in response.text


def test_the_api_still_answers_json_for_unknown_addresses(client, researcher):
    response = client.get("/api/v1/jobs/abc", headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    missing = client.get("/api/v1/nowhere", headers={**researcher.headers, "Accept": "text/html"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
