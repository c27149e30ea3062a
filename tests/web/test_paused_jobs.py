"""Paused and cancelled jobs take no rater work (issue 11.6): a paused job serves nothing and
refuses what raters send, with a clear page and nothing lost; a cancelled one for good."""

from __future__ import annotations

import pytest

from tests.web.conftest import assignments_of, comparison_rows, judgments_of


@pytest.fixture
def set_status(client, researcher):
    def change(job_id: int, status: str) -> None:
        response = client.patch(
            f"/api/v1/jobs/{job_id}", json={"status": status}, headers=researcher.headers
        )
        assert response.status_code == 200, response.text

    return change


def test_a_rater_holding_a_lease_gets_no_form_once_the_job_is_paused(
    human_job, make_rater, set_status
):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assert rater.next_page(job["id"])[0] is not None
    set_status(job["id"], "paused")
    assignment_id, page = rater.next_page(job["id"])
    assert assignment_id is None and 'id="judgment-form"' not in page
    assert "This job is paused" in page


def test_a_judgment_sent_during_the_pause_is_refused_with_a_page_and_not_stored(
    human_job, make_rater, set_status, db
):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    set_status(job["id"], "paused")
    refused = rater.judge(job["id"], assignment_id, "A")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("text/html")
    assert "your judgment was NOT saved" in refused.text
    assert judgments_of(db, job["id"]) == []
    assert [a.status for a in assignments_of(db, job["id"])] == ["leased"]


def test_after_the_pause_the_rater_gets_the_same_comparison_and_it_is_accepted(
    human_job, make_rater, set_status, db
):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    set_status(job["id"], "paused")
    rater.judge(job["id"], assignment_id, "A")
    set_status(job["id"], "active")
    again, _ = rater.next_page(job["id"])
    assert again == assignment_id
    assert rater.judge(job["id"], again, "A").status_code == 303
    assert len(judgments_of(db, job["id"])) == 1


def test_a_skip_during_the_pause_is_refused_too(human_job, make_rater, set_status, db):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    set_status(job["id"], "paused")
    assert rater.skip(job["id"], assignment_id).status_code == 409
    assert [a.status for a in assignments_of(db, job["id"])] == ["leased"]


def test_a_change_of_the_last_judgment_during_the_pause_is_refused(
    human_job, make_rater, set_status, db
):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    rater.judge(job["id"], assignment_id, "A")
    set_status(job["id"], "paused")
    assert rater.revise(job["id"], assignment_id, "B").status_code == 409
    assert [j.version for j in judgments_of(db, job["id"])] == [1]


def test_a_cancelled_job_serves_nothing_and_refuses_judgments(
    human_job, make_rater, set_status, db
):
    job = human_job(rows=comparison_rows(2))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    set_status(job["id"], "cancelled")
    refused = rater.judge(job["id"], assignment_id, "A")
    assert refused.status_code == 409 and "was cancelled" in refused.text
    assert judgments_of(db, job["id"]) == []
    next_id, page = rater.next_page(job["id"])
    assert next_id is None and "This job was cancelled" in page
