"""The job page's statistics come from the cache with their age, large jobs are recomputed in
the background while the last report stays on screen, and every chart downloads (issue 11.2,
17.6)."""

from __future__ import annotations

import time

import pytest

from app.config import Settings
from tests.dashboard.conftest import ndjson


@pytest.fixture
def page_of(web_researcher, logged_in):
    browser = logged_in(web_researcher)

    def get(url: str, status: int = 200) -> str:
        response = browser.get(url)
        assert response.status_code == status, response.text
        return response.text

    return get


def test_the_fragment_says_how_old_its_statistics_are(web_researcher, judged_job, page_of):
    job = judged_job(web_researcher)
    first = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    assert 'data-state="computed"' in first
    assert "Statistics of 48 judgments, computed 0 seconds ago." in first
    again = page_of(f"/dashboard/jobs/{job['id']}/statistics")
    assert 'data-state="fresh"' in again


@pytest.mark.parametrize("name", ["ratings", "win_rates", "bias", "validity"])
def test_each_chart_downloads_as_an_svg_file(web_researcher, judged_job, logged_in, name):
    job = judged_job(web_researcher)
    browser = logged_in(web_researcher)
    response = browser.get(f"/dashboard/jobs/{job['id']}/charts/{name}.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert f'filename="job-{job["id"]}-{name}.svg"' in response.headers["content-disposition"]
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')


def test_unknown_charts_and_tables_are_not_found(web_researcher, judged_job, logged_in):
    job = judged_job(web_researcher)
    browser = logged_in(web_researcher)
    assert browser.get(f"/dashboard/jobs/{job['id']}/charts/pie.svg").status_code == 404
    assert browser.get(f"/dashboard/jobs/{job['id']}/statistics/secrets.csv").status_code == 404
    csv = browser.get(f"/dashboard/jobs/{job['id']}/statistics/simulator_leaderboards.csv")
    assert csv.text.splitlines()[0] == (
        "generator,human_win_rate,simulated_win_rate,human_judgments,simulated_judgments"
    )


def test_another_researcher_cannot_download_a_chart(
    web_researcher, judged_job, make_account, logged_in
):
    from tests.dashboard.conftest import PASSWORD

    job = judged_job(web_researcher)
    stranger = make_account("researcher", password=PASSWORD)
    response = logged_in(stranger).get(f"/dashboard/jobs/{job['id']}/charts/ratings.svg")
    assert response.status_code == 404


class TestLargeJobs:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, inprocess_worker=False, stats_inline_max_judgments=10
        )

    def test_the_last_report_stays_on_screen_while_the_background_recomputes(
        self, app, client, web_researcher, judged_job, page_of
    ):
        job = judged_job(web_researcher)
        url = f"/dashboard/jobs/{job['id']}/statistics"
        pending = page_of(url, status=202)
        assert 'data-pending="true"' in pending
        assert "Computing the statistics of 48 judgments in the background" in pending
        wait_for_background(app)
        assert 'data-state="fresh"' in page_of(url)
        late = [
            {"comparison_id": "q0", "annotator": "judge-late", "preference": 2.0,
             "annotator_kind": "simulated"}
        ]  # fmt: skip
        response = client.post(
            f"/api/v1/jobs/{job['id']}/annotations",
            content=ndjson(late),
            headers={**web_researcher.headers, "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 200
        stale = page_of(url, status=202)
        assert "Showing the statistics of 48 judgments, computed" in stale
        assert "the 49 judgments there are now are being computed" in stale
        assert 'id="evaluators"' in stale  # the last report's tables are still shown
        wait_for_background(app)
        assert "Statistics of 49 judgments" in page_of(url)


def wait_for_background(app) -> None:
    deadline = time.monotonic() + 60
    while not app.state.statistics.idle():
        assert time.monotonic() < deadline, "the background computation never finished"
        time.sleep(0.05)
