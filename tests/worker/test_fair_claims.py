"""Workers share the queue fairly among jobs: a huge job cannot starve a small one, priorities
weight the share, and every task is still claimed exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from app.db.models import Annotation, Task
from app.db.session import unit_of_work
from app.worker.store import claim
from tests.fakes.fixtures import marked_pairs


@pytest.fixture
def queued_job(make_job, post_comparisons):
    """A job judged by the builtin `longest` annotator with `size` queued tasks."""

    def make(account: Any, size: int, prefix: str, **fields: Any) -> int:
        job = make_job(account, annotators=["longest"], **fields)
        post_comparisons(account, job["id"], marked_pairs(size, prefix=prefix))
        return int(job["id"])

    return make


@pytest.fixture
def claim_rounds(engine: Engine):
    """Claim batches of `batch` tasks, one after another, like a worker that never finishes
    anything; the job id of every task, per round."""

    def rounds(batch: int, count: int) -> list[list[int]]:
        return [
            [task.job_id for task in claim(engine, "w1", batch, 60).tasks] for _ in range(count)
        ]

    return rounds


def test_a_small_job_is_not_starved_by_a_huge_one_queued_before_it(
    researcher, make_account, queued_job, claim_rounds
):
    huge = queued_job(researcher, 600, "h")
    small = queued_job(make_account("researcher"), 5, "s")

    first = claim_rounds(batch=10, count=1)[0]

    assert Counter(first) == {huge: 5, small: 5}


def test_a_small_job_finishes_within_a_bounded_number_of_rounds_through_the_worker(
    researcher, make_account, queued_job, run_worker, db
):
    huge = queued_job(researcher, 300, "h")
    small = queued_job(make_account("researcher"), 12, "s")

    run_worker(claim_batch=8, concurrency=4)

    # Judgments are stored in claim order: with 8 a round split between two jobs, the small
    # job's 12 are done within its first three rounds (24 judgments), not after the huge one.
    order = db.scalars(select(Annotation.job_id).order_by(Annotation.id)).all()
    assert Counter(order) == {huge: 300, small: 12}
    last_small = max(i for i, job in enumerate(order) if job == small)
    assert last_small < 3 * 8


def test_priority_weights_the_share_of_each_claim(researcher, queued_job, claim_rounds):
    normal = queued_job(researcher, 100, "n")
    urgent = queued_job(researcher, 100, "u", priority=3)

    first = claim_rounds(batch=8, count=1)[0]

    assert Counter(first) == {urgent: 6, normal: 2}


def test_with_more_jobs_than_a_batch_every_job_is_served_within_a_few_rounds(
    researcher, queued_job, claim_rounds
):
    jobs = [queued_job(researcher, 20, f"j{n}-") for n in range(12)]

    rounds = claim_rounds(batch=4, count=3)

    assert all(len(batch) == 4 for batch in rounds)
    assert {job for batch in rounds for job in batch} == set(jobs)


def test_paused_jobs_and_tasks_waiting_for_a_retry_are_not_claimed(
    client, researcher, queued_job, claim_rounds, engine
):
    paused = queued_job(researcher, 5, "p")
    waiting = queued_job(researcher, 5, "w")
    client.patch(f"/api/v1/jobs/{paused}", json={"status": "paused"}, headers=researcher.headers)
    with unit_of_work(engine) as session:
        session.execute(update(Task).where(Task.job_id == waiting).values(not_before=_in_an_hour()))

    assert claim_rounds(batch=10, count=1) == [[]]


def test_concurrent_claims_take_every_task_exactly_once(researcher, queued_job, engine, db):
    for n in range(4):
        queued_job(researcher, 60, f"c{n}-")
    taken: list[list[int]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        while tasks := claim(engine, f"w{slot}", 7, 60).tasks:
            taken[slot].extend(task.id for task in tasks)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    claimed = [task_id for ids in taken for task_id in ids]
    assert len(claimed) == len(set(claimed)) == 240
    assert set(claimed) == set(db.scalars(select(Task.id)))


def _in_an_hour():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=1)
