"""Honest progress: what is left for this rater, what they did today, the job's overall figure
labelled as such, a job list of jobs with work for them, and pages that count boundedly."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from tests.web.conftest import comparison_rows


def _left_for_you(page: str) -> str:
    match = re.search(r"· ([\w ,]+?) left for you in this job", page)
    assert match, "the page shows no figure for the rater"
    return match.group(1)


def _job_figure(page: str) -> str:
    match = re.search(r"Whole job, all raters:</strong> ([\w ,]+?) comparisons? waiting", page)
    assert match, "the page shows no figure for the whole job"
    return match.group(1)


def test_what_is_left_for_the_rater_goes_down_with_each_judgment(human_job, make_rater):
    job = human_job(k=3, rows=comparison_rows(4))
    rater = make_rater(job["id"])
    seen = []
    while True:
        assignment_id, page = rater.next_page(job["id"])
        if assignment_id is None:
            seen.append(_left_for_you(page))
            break
        seen.append(_left_for_you(page))
        rater.judge(job["id"], assignment_id, "A")
    assert seen == ["4", "3", "2", "1", "0"]


def test_the_whole_jobs_figure_is_labelled_and_counts_what_still_waits_for_raters(
    human_job, make_rater
):
    job = human_job(k=2, rows=comparison_rows(3))
    first, second = make_rater(job["id"]), make_rater(job["id"])
    for _ in range(3):
        assignment_id, _ = first.next_page(job["id"])
        first.judge(job["id"], assignment_id, "A")
    # Each comparison has one of its two raters: all three still wait for a rater.
    _, page = second.next_page(job["id"])
    assert _left_for_you(page) == "3" and _job_figure(page) == "2"


def test_the_page_shows_what_the_rater_did_today(human_job, make_rater):
    job = human_job(rows=comparison_rows(3))
    rater = make_rater(job["id"])
    for _ in range(2):
        assignment_id, _ = rater.next_page(job["id"])
        rater.judge(job["id"], assignment_id, "A")
    _, page = rater.next_page(job["id"])
    assert "<strong>You:</strong> 2 rated today" in page


def test_large_jobs_are_counted_up_to_a_cap(human_job, make_rater):
    job = human_job(rows=comparison_rows(1002))
    rater = make_rater(job["id"])
    _, page = rater.next_page(job["id"])
    assert _left_for_you(page) == "more than 1,000"
    assert _job_figure(page) == "more than 1,000"


def test_gold_items_each_rater_still_gets_count_as_left_for_them(human_job, make_rater):
    # Gold items do not wait for k, so they stay left for every rater who has not seen them.
    job = human_job(k=1, rows=comparison_rows(4, gold_every=2), gold_rate=1.0)
    first, second = make_rater(job["id"]), make_rater(job["id"])
    while (assignment_id := first.next_page(job["id"])[0]) is not None:
        first.judge(job["id"], assignment_id, "A")
    _, page = second.next_page(job["id"])
    assert _left_for_you(page) == "2", "the two gold items"


def test_the_job_list_offers_only_jobs_with_work_for_the_rater(
    human_job, make_rater, researcher, client
):
    open_job = human_job(rows=comparison_rows(2), job_fields={"name": "Open job"})
    done_job = human_job(rows=comparison_rows(1), job_fields={"name": "Done job"})
    paused_job = human_job(rows=comparison_rows(1), job_fields={"name": "Paused job"})
    rater = make_rater(open_job["id"], done_job["id"], paused_job["id"])
    assignment_id, _ = rater.next_page(done_job["id"])
    rater.judge(done_job["id"], assignment_id, "A")
    client.patch(
        f"/api/v1/jobs/{paused_job['id']}", json={"status": "paused"}, headers=researcher.headers
    )
    page = rater.client.get("/rate").text
    offers = page.split('id="job-offers"')[1].split("</ul>")[0]
    assert "Open job" in offers and "Done job" not in offers and "Paused job" not in offers
    others = page.split('id="other-jobs"')[1]
    assert "Done job — done" in others and "Paused job — paused" in others


def test_a_job_with_a_comparison_the_rater_started_stays_offered(human_job, make_rater):
    job = human_job(rows=comparison_rows(1), job_fields={"name": "Started job"})
    rater = make_rater(job["id"])
    rater.next_page(job["id"])  # leases the only comparison
    page = rater.client.get("/rate").text
    assert "Started job</a> — 1 left for you (one started)" in page


@pytest.fixture
def statements(engine):
    """Counts the SQL statements the app runs (reset `count` before the request to measure)."""

    class Counter:
        count = 0

    def count(*_args) -> None:
        Counter.count += 1

    event.listen(engine, "before_cursor_execute", count)
    yield Counter
    event.remove(engine, "before_cursor_execute", count)


def test_the_rating_page_runs_a_handful_of_statements_however_large_the_job(
    human_job, make_rater, statements
):
    job = human_job(k=3, rows=comparison_rows(1500), gold_rate=0.1)
    rater = make_rater(job["id"])
    rater.next_page(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    statements.count = 0
    rater.judge(job["id"], assignment_id, "A")
    posting = statements.count
    statements.count = 0
    rater.next_page(job["id"])
    # Login check (2), job and settings (1), current lease (1), maybe a sweep (1), pick (1-2),
    # claim (1), lease insert (1), progress figures (1), texts (1).
    print("STATEMENTS", statements.count, posting)
    assert statements.count <= 12
    assert posting <= 14


def test_the_job_list_is_one_statement_for_all_jobs(human_job, make_rater, statements):
    jobs = [human_job(rows=comparison_rows(2)) for _ in range(6)]
    rater = make_rater(*(job["id"] for job in jobs))
    statements.count = 0
    assert rater.client.get("/rate").status_code == 200
    assert statements.count <= 2, "the login check and one statement for every job"
