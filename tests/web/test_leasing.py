"""Leases: they lapse and come back, expired work can still be handed in while there is room,
and k holds with many raters at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.db.models import Assignment, Comparison, Job, User
from app.db.session import unit_of_work
from app.rating import assignment
from app.rating.assignment import (
    JudgingError,
    JudgmentForm,
    assign_next,
    shown_swapped_for,
    submit_judgment,
)
from app.rating.settings import HumanSettings, human_settings
from tests.web.conftest import assignments_of, comparison_rows, judgments_of

LEASE = HumanSettings(
    gold_rate=0.0,
    reason_required=False,
    gold_accuracy_floor=None,
    gold_min_items=10,
    lease_seconds=60,
    too_fast_seconds=3.0,
    too_fast_share=None,
)


def _as_request(engine: Engine, job_id: int, user_id: int, action: Callable[..., Any]) -> Any:
    """Run `action(session, job, user)` in a unit of work of its own, as a request would."""
    with unit_of_work(engine) as session:
        job, user = session.get_one(Job, job_id), session.get_one(User, user_id)
        return action(session, job, Account.of(user))


def test_a_lapsed_lease_comes_back_to_other_raters(human_job, make_rater, db, engine):
    job_row = human_job(k=1, rows=comparison_rows(1))
    first, second = make_rater(job_row["id"]), make_rater(job_row["id"])
    now = datetime.now(UTC)
    lease = _as_request(
        engine, job_row["id"], first.id, lambda s, job, user: assign_next(s, user, job, LEASE, now)
    )
    assert lease is not None
    soon = now + timedelta(seconds=59)
    assert (
        _as_request(
            engine,
            job_row["id"],
            second.id,
            lambda s, job, user: assign_next(s, user, job, LEASE, soon),
        )
        is None
    )
    later_time = now + timedelta(seconds=61)
    later = _as_request(
        engine,
        job_row["id"],
        second.id,
        lambda s, job, user: assign_next(s, user, job, LEASE, later_time),
    )
    assert later is not None and later.comparison_id == lease.comparison_id
    statuses = {a.user_id: a.status for a in assignments_of(db, job_row["id"])}
    assert statuses == {first.id: "expired", second.id: "leased"}


def test_work_on_a_lapsed_lease_is_accepted_while_the_comparison_has_room(
    human_job, make_rater, db, engine
):
    job_row = human_job(k=2, rows=comparison_rows(1))
    rater = make_rater(job_row["id"])
    now = datetime.now(UTC)
    late = now + timedelta(minutes=5)

    def lease_lapse_and_submit(session: Session, job: Job, user: Account) -> None:
        lease = assign_next(session, user, job, LEASE, now)
        assign_next(session, user, job, LEASE, late)  # expires it
        submit_judgment(session, user, job, lease.id, JudgmentForm("A"), now=late)

    _as_request(engine, job_row["id"], rater.id, lease_lapse_and_submit)
    assert [a.status for a in assignments_of(db, job_row["id"])] == ["submitted"]
    assert len(judgments_of(db, job_row["id"])) == 1


def test_work_on_a_lapsed_lease_is_refused_once_others_filled_the_comparison(
    human_job, make_rater, db, engine
):
    job_row = human_job(k=1, rows=comparison_rows(1))
    slow, quick = make_rater(job_row["id"]), make_rater(job_row["id"])
    now = datetime.now(UTC)
    later, latest = now + timedelta(minutes=2), now + timedelta(minutes=3)
    lease = _as_request(
        engine, job_row["id"], slow.id, lambda s, job, user: assign_next(s, user, job, LEASE, now)
    )

    def take_and_submit(session: Session, job: Job, user: Account) -> None:
        taken = assign_next(session, user, job, LEASE, later)
        submit_judgment(session, user, job, taken.id, JudgmentForm("B"), now=later)

    _as_request(engine, job_row["id"], quick.id, take_and_submit)
    try:
        _as_request(
            engine,
            job_row["id"],
            slow.id,
            lambda s, job, user: submit_judgment(
                s, user, job, lease.id, JudgmentForm("A"), now=latest
            ),
        )
        raise AssertionError("a lapsed lease on a full comparison was accepted")
    except JudgingError as error:
        assert error.status == 409
    assert len(judgments_of(db, job_row["id"])) == 1
    db.expire_all()
    comparison = db.scalar(select(Comparison).where(Comparison.job_id == job_row["id"]))
    assert (comparison.human_claims, comparison.human_open) == (1, False)


def test_the_lease_time_comes_from_the_jobs_settings(human_job, make_rater, db, engine, settings):
    job_row = human_job(k=1, lease_seconds=120)
    rater = make_rater(job_row["id"])
    now = datetime.now(UTC)
    lease = _as_request(
        engine,
        job_row["id"],
        rater.id,
        lambda s, job, user: assign_next(s, user, job, human_settings(s, job.id, settings), now),
    )
    assert lease.expires_at - lease.created_at == timedelta(seconds=120)


def test_a_paused_job_serves_nothing(human_job, make_rater, researcher, client, db):
    job_row = human_job(k=1)
    rater = make_rater(job_row["id"])
    client.patch(
        f"/api/v1/jobs/{job_row['id']}", json={"status": "paused"}, headers=researcher.headers
    )
    assignment_id, page = rater.next_page(job_row["id"])
    assert assignment_id is None and "This job is paused" in page


def test_many_raters_at_once_never_exceed_k(human_job, make_rater, db):
    """Eight raters rate in parallel threads (each its own HTTP client) until nothing is left."""
    k = 3
    job_row = human_job(k=k, rows=comparison_rows(12))
    raters = [make_rater(job_row["id"]) for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(raters))

    def rate(rater) -> None:
        try:
            start.wait()
            for _ in range(40):
                assignment_id, _ = rater.next_page(job_row["id"])
                if assignment_id is None:
                    return
                response = rater.judge(job_row["id"], assignment_id, "A")
                assert response.status_code == 303, response.text
        except BaseException as error:  # reported below, with the thread's own traceback lost
            errors.append(error)

    threads = [threading.Thread(target=rate, args=(rater,)) for rater in raters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    judgments = judgments_of(db, job_row["id"])
    assert Counter(Counter(j.comparison_id for j in judgments).values()) == {k: 12}
    assert max(Counter((j.comparison_id, j.annotator_id) for j in judgments).values()) == 1
    leases = db.scalars(
        select(Assignment).where(
            Assignment.job_id == job_row["id"], Assignment.status != "submitted"
        )
    ).all()
    assert leases == []


@pytest.mark.postgres_only
@pytest.mark.parametrize("sweep_every", [1, 10**9], ids=["sweeping", "not sweeping"])
def test_a_rater_is_not_told_nothing_is_left_while_another_is_being_given_the_last_one(
    on_postgres, human_job, make_rater, engine, monkeypatch, sweep_every
):
    """The last open comparison is locked by a rater being served this instant (their request
    has claimed it and not committed yet); a second rater waits for that request instead of
    passing over the row and hearing that nothing is left, and gets the comparison's room,
    whether or not their request is the one that sweeps lapsed leases."""
    if not on_postgres:
        pytest.skip("row locks and SKIP LOCKED: PostgreSQL only")
    monkeypatch.setattr(assignment, "SWEEP_EVERY", sweep_every)
    job_row = human_job(k=2, rows=comparison_rows(1))
    first, second = make_rater(job_row["id"]), make_rater(job_row["id"])
    with Session(engine) as holding:  # the first rater's request, mid-way
        job = holding.get_one(Job, job_row["id"])
        user = Account.of(holding.get_one(User, first.id))
        assert assign_next(holding, user, job, LEASE) is not None
        waiting: dict[str, Any] = {}

        def second_request() -> None:
            waiting["lease"] = _as_request(
                engine, job_row["id"], second.id, lambda s, job, u: assign_next(s, u, job, LEASE)
            )

        thread = threading.Thread(target=second_request)
        thread.start()
        _until_a_query_waits_for_a_lock(engine)
        holding.commit()
    thread.join(30)
    assert waiting["lease"] is not None


def _until_a_query_waits_for_a_lock(engine: Engine) -> None:
    with engine.connect() as connection:
        for _ in range(500):
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()
            threading.Event().wait(0.01)
    raise AssertionError("the second rater's request never waited for the first one's lock")


def test_each_lease_shows_the_sides_fixed_for_its_rater_and_comparison(
    human_job, make_rater, db, engine
):
    # On PostgreSQL the lease statement computes the sides itself: they must be the same.
    job_row = human_job(k=1, rows=comparison_rows(24))
    rater = make_rater(job_row["id"])
    for _ in range(24):
        lease = _as_request(
            engine, job_row["id"], rater.id, lambda s, job, user: assign_next(s, user, job, LEASE)
        )
        assert lease is not None
        _as_request(
            engine,
            job_row["id"],
            rater.id,
            lambda s, job, user, lease=lease: submit_judgment(
                s, user, job, lease.id, JudgmentForm("A")
            ),
        )
    seed = db.get_one(Job, job_row["id"]).seed
    leases = assignments_of(db, job_row["id"])
    assert len(leases) == 24
    assert {lease.shown_swapped for lease in leases} == {True, False}
    for lease in leases:
        assert lease.shown_swapped == shown_swapped_for(seed, lease.comparison_id, rater.id)


def test_a_job_judged_to_its_end_by_two_raters_at_once_is_done(
    on_postgres, human_job, make_rater, engine, db
):
    """Two raters submit a job's last two comparisons in overlapping transactions: the first
    sees the other's comparison pending and settles no job (it holds that comparison pending
    until it commits); the second, once it can go on, sees the first's committed and finishes
    the job."""
    if not on_postgres:
        pytest.skip("overlapping transactions: PostgreSQL only")
    job_row = human_job(k=1, rows=comparison_rows(2))
    first, second = make_rater(job_row["id"]), make_rater(job_row["id"])
    leases = [
        _as_request(
            engine, job_row["id"], rater.id, lambda s, job, user: assign_next(s, user, job, LEASE)
        )
        for rater in (first, second)
    ]
    with Session(engine) as holding:  # the first rater's submission, not committed yet
        job = holding.get_one(Job, job_row["id"])
        user = Account.of(holding.get_one(User, first.id))
        submit_judgment(holding, user, job, leases[0].id, JudgmentForm("A"))
        thread = threading.Thread(
            target=_as_request,
            args=(engine, job_row["id"], second.id),
            kwargs={
                "action": lambda s, job, user: submit_judgment(
                    s, user, job, leases[1].id, JudgmentForm("B")
                )
            },
        )
        thread.start()
        _until_a_query_waits_for_a_lock(engine)
        holding.commit()
    thread.join(30)
    assert db.get_one(Job, job_row["id"]).status == "done"


def test_a_comparison_given_its_last_judgments_by_two_raters_at_once_is_done(
    on_postgres, human_job, make_rater, engine, db
):
    """Two raters hand in the two judgments a comparison needs (k = 2) in overlapping
    transactions: the second to settle it waits for the first and then counts its judgment, so
    the comparison ends done, not pending with k judgments (which would keep its job open)."""
    if not on_postgres:
        pytest.skip("overlapping transactions: PostgreSQL only")
    job_row = human_job(k=2, rows=comparison_rows(1))
    first, second = make_rater(job_row["id"]), make_rater(job_row["id"])
    leases = [
        _as_request(
            engine, job_row["id"], rater.id, lambda s, job, user: assign_next(s, user, job, LEASE)
        )
        for rater in (first, second)
    ]
    with Session(engine) as holding:  # the first rater's submission, not committed yet
        job = holding.get_one(Job, job_row["id"])
        user = Account.of(holding.get_one(User, first.id))
        submit_judgment(holding, user, job, leases[0].id, JudgmentForm("A"))
        thread = threading.Thread(
            target=_as_request,
            args=(engine, job_row["id"], second.id),
            kwargs={
                "action": lambda s, job, user: submit_judgment(
                    s, user, job, leases[1].id, JudgmentForm("B")
                )
            },
        )
        thread.start()
        _until_a_query_waits_for_a_lock(engine)
        holding.commit()
    thread.join(30)
    [comparison] = db.scalars(select(Comparison).where(Comparison.job_id == job_row["id"]))
    assert (comparison.status, len(judgments_of(db, job_row["id"]))) == ("done", 2)
    assert db.get_one(Job, job_row["id"]).status == "done"
