"""Time on task: serve to submit as the server measures it, less the idle time the page reports;
its distribution per rater on the quality pages; too-fast raters flagged by a job setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from app.accounts.identity import Account
from app.db.models import Annotation, Annotator, Job, User
from app.db.session import unit_of_work
from app.rating.assignment import JudgmentForm, assign_next, submit_judgment
from app.rating.quality import MIN_TIMED_JUDGMENTS, job_quality, time_histogram, time_on_task
from app.rating.settings import human_settings
from tests.web.conftest import comparison_rows, judgments_of, page_csrf


def _judge_at(engine, settings, job_id: int, user_id: int, after: float, idle: float) -> None:
    """Lease a comparison now and submit it `after` seconds later, reporting `idle` seconds."""
    served = datetime.now(UTC)
    with unit_of_work(engine) as session:
        job, user = session.get_one(Job, job_id), Account.of(session.get_one(User, user_id))
        human = human_settings(session, job_id, settings)
        lease = assign_next(session, user, job, human, served)
        assert lease is not None
        form = JudgmentForm("A", idle_seconds=idle)
        submit_judgment(session, user, job, lease.id, form, now=served + timedelta(seconds=after))


def test_time_on_task_is_serve_to_submit_less_the_idle_time_reported(
    human_job, make_rater, engine, settings, db
):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    _judge_at(engine, settings, job["id"], rater.id, after=100, idle=30)
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.seconds_on_task, judgment.idle_seconds) == (70, 30)


def test_reported_idle_time_never_exceeds_the_time_that_passed(
    human_job, make_rater, engine, settings, db
):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    _judge_at(engine, settings, job["id"], rater.id, after=20, idle=500)
    [judgment] = judgments_of(db, job["id"])
    assert (judgment.seconds_on_task, judgment.idle_seconds) == (0, 20)


def test_a_negative_idle_time_is_refused_and_stores_nothing(human_job, make_rater, db):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    assignment_id, _ = rater.next_page(job["id"])
    assert rater.judge(job["id"], assignment_id, "A", idle_seconds="-5").status_code == 422
    assert judgments_of(db, job["id"]) == []


def test_the_page_tells_its_script_when_input_stops_counting(human_job, make_rater, settings):
    job = human_job(rows=comparison_rows(1))
    rater = make_rater(job["id"])
    _, page = rater.next_page(job["id"])
    assert f'data-idle-after="{settings.idle_after_seconds}"' in page
    assert 'name="idle_seconds"' in page


def test_the_histogram_bins_and_quantiles_match_numpy():
    rng = np.random.default_rng(3)
    seconds = list(rng.exponential(40, 500))
    summary = time_on_task(seconds)
    assert summary is not None
    assert summary.median == pytest.approx(np.percentile(seconds, 50))
    assert (summary.p10, summary.p90) == pytest.approx(np.percentile(seconds, [10, 90]))
    edges = [0, 3, 10, 30, 60, 120, 300, np.inf]
    assert time_histogram(seconds) == list(np.histogram(seconds, edges)[0])


def _rate_with_times(rater, db, job_id: int, count: int, seconds: float) -> None:
    for _ in range(count):
        assignment_id, _ = rater.next_page(job_id)
        rater.judge(job_id, assignment_id, "A")
    db.execute(
        update(Annotation)
        .where(
            Annotation.job_id == job_id,
            Annotation.annotator_id == Annotator.id,
            Annotator.user_id == rater.id,
        )
        .values(seconds_on_task=seconds)
    )
    db.commit()


def test_a_rater_with_too_many_quick_judgments_is_flagged_by_the_jobs_setting(
    human_job, make_rater, db, settings
):
    count = MIN_TIMED_JUDGMENTS
    job = human_job(k=2, rows=comparison_rows(count), too_fast_seconds=5.0, too_fast_share=0.5)
    quick, careful = make_rater(job["id"]), make_rater(job["id"])
    _rate_with_times(quick, db, job["id"], count, seconds=2.0)
    _rate_with_times(careful, db, job["id"], count, seconds=40.0)
    figures = {
        q.user_id: q for q in job_quality(db, job["id"], human_settings(db, job["id"], settings))
    }
    assert figures[quick.id].too_fast_share == 1.0
    assert figures[quick.id].flags == ["too fast: 100% of judgments under 5 s (more than 50%)"]
    assert figures[careful.id].flags == []


def test_no_rater_is_flagged_before_enough_judgments(human_job, make_rater, db, settings):
    job = human_job(rows=comparison_rows(MIN_TIMED_JUDGMENTS), too_fast_share=0.5)
    quick = make_rater(job["id"])
    _rate_with_times(quick, db, job["id"], MIN_TIMED_JUDGMENTS - 1, seconds=0.5)
    [figures] = job_quality(db, job["id"], human_settings(db, job["id"], settings))
    assert figures.too_fast_share == 1.0 and figures.flags == []


def test_the_quality_page_shows_each_raters_time_distribution_and_flags(
    admin_client, human_job, make_rater, db
):
    job = human_job(rows=comparison_rows(MIN_TIMED_JUDGMENTS), too_fast_share=0.2)
    quick = make_rater(job["id"])
    _rate_with_times(quick, db, job["id"], MIN_TIMED_JUDGMENTS, seconds=1.0)
    page = admin_client.get(f"/admin/jobs/{job['id']}").text
    assert f'aria-label="Time on task of {MIN_TIMED_JUDGMENTS} judgments: &lt; 3 s 10,' in page
    assert "median 1.0 s" in page
    assert "too fast: 100% of judgments under 3 s (more than 20%)" in page


def test_an_admin_sets_the_too_fast_rule_of_a_job(admin_client, human_job, db, settings):
    job = human_job()
    path = f"/admin/jobs/{job['id']}"
    response = admin_client.post(
        f"{path}/settings",
        data={
            "csrf_token": page_csrf(admin_client, path),
            "too_fast_seconds": "4.5",
            "too_fast_share": "0.3",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    human = human_settings(db, job["id"], settings)
    assert (human.too_fast_seconds, human.too_fast_share) == (4.5, 0.3)


@pytest.mark.parametrize("bad", [{"too_fast_share": "1.5"}, {"too_fast_seconds": "-1"}])
def test_a_too_fast_rule_out_of_range_is_refused(admin_client, human_job, db, settings, bad):
    job = human_job()
    path = f"/admin/jobs/{job['id']}"
    response = admin_client.post(
        f"{path}/settings", data={"csrf_token": page_csrf(admin_client, path), **bad}
    )
    assert response.status_code == 422
    assert human_settings(db, job["id"], settings).too_fast_share is None
