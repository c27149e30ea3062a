"""The worker's database side: claim with a lease, renew, release, reap, and write results.

Every write of a result is fenced by the lease: a task's annotation is stored only while the task
is still `running` under this worker's id, in the same transaction that marks it `done`, and the
annotation insert ignores an existing (comparison, annotator, repeat) row. A worker killed at any
point therefore loses nothing (the lease expires and the task is claimed again) and duplicates
nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Engine,
    Float,
    Select,
    String,
    Update,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from app.annotators.seeding import comparison_key
from app.db.dialect import (
    first_rows_per_group,
    insert_ignoring_conflicts,
    is_retryable_conflict,
)
from app.db.models import (
    Annotation,
    Annotator,
    Comparison,
    Instruction,
    Job,
    LlmCache,
    Output,
    Task,
    UtcDateTime,
    table,
)
from app.db.session import unit_of_work
from app.routing.completion import settle_comparisons

OutcomeKind = Literal["done", "retry", "failed", "release"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobState:
    status: str
    budget_usd: float | None
    spent_usd: float
    seed: int

    @property
    def dispatchable(self) -> bool:
        over = self.budget_usd is not None and self.spent_usd >= self.budget_usd
        return self.status == "active" and not over


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    job_id: int
    comparison_id: int
    annotator_id: int
    pool: str | None
    attempts: int
    instruction: str
    input: str
    output_1: str
    output_2: str
    key: str  # comparison_key of the pair's content
    # A conversation prompt's messages (app/db/messages.py); empty for an instruction.
    messages: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AnnotatorRow:
    id: int
    name: str
    config: dict[str, Any]
    config_sha256: str


@dataclass
class Claim:
    tasks: list[ClaimedTask]
    jobs: dict[int, JobState]
    annotators: dict[int, AnnotatorRow]
    pools: dict[str, dict[str, Any]]


@dataclass
class Outcome:
    task: ClaimedTask
    kind: OutcomeKind
    annotation: dict[str, Any] | None = None
    error: str | None = None
    not_before: datetime | None = None
    spent_usd: float = 0.0  # paid for this task, charged to the job even if the lease was lost


Moment = datetime | BindParameter[datetime]


def claimable_tasks(now: Moment) -> ColumnElement[bool]:
    """Queued tasks whose retry time has come (the job's own state is checked separately)."""
    return and_(Task.status == "queued", or_(Task.not_before.is_(None), Task.not_before <= now))


def fair_pick(session: Session, now: Moment, limit: int) -> Select[tuple[int]]:
    """Ids of up to `limit` claimable tasks, shared fairly among the active jobs that have any.

    Each such job offers ceil(limit * priority / total priority) of its oldest tasks. The batch
    is filled in weighted round-robin order, where a job's turn for its n-th task is
    (tasks of the job running now + n - 1) / priority: jobs with less work in flight go first,
    a job of priority p advances p times as fast, and the oldest task wins among equal turns.
    So a small job queued behind a huge one gets its tasks into the next claims, and with more
    jobs than `limit` every job is served within a few claims. The cost is a few index probes
    per active job plus the rows taken: flat in the size of the queue (docs/performance.md).
    """
    waiting = (
        select(Task.id).where(Task.job_id == Job.id, claimable_tasks(now)).exists().correlate(Job)
    )
    running = (
        select(func.count())
        .select_from(Task)
        .where(Task.job_id == Job.id, Task.status == "running")
        .correlate(Job)
        .scalar_subquery()
    )
    ready = (
        select(
            Job.id.label("key"),
            Job.priority,
            func.sum(Job.priority).over().label("total"),
            running.label("running"),
        )
        .where(Job.status == "active", waiting)
        .subquery("ready")
    )
    # Integer ceil(limit * priority / total), the same on both databases.
    shares = select(
        ready.c.key,
        ready.c.priority,
        ready.c.running,
        ((limit * ready.c.priority + ready.c.total - 1) // ready.c.total).label("share"),
    ).cte("shares")
    candidates = select(Task.id, Task.job_id).where(claimable_tasks(now))
    firsts = first_rows_per_group(session, shares, candidates, Task.job_id)
    turn = cast(shares.c.running + firsts.c.rank - 1, Float) / shares.c.priority
    return (
        select(firsts.c.id)
        .join(shares, shares.c.key == firsts.c.key)
        .order_by(turn, firsts.c.id)
        .limit(limit)
    )


def _claim_update(
    session: Session,
    worker_id: str | BindParameter[str],
    now: Moment,
    lease_until: Moment,
    limit: int,
) -> Update:
    return (
        update(Task)
        .where(Task.id.in_(fair_pick(session, now, limit)), Task.status == "queued")
        .values(
            status="running",
            attempts=Task.attempts + 1,
            lease_until=lease_until,
            leased_by=worker_id,
        )
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    )


def claim_statement(
    session: Session, worker_id: str, now: datetime, limit: int, lease_seconds: float
) -> Update:
    """The one statement of a claim: lease up to `limit` fairly picked tasks to this worker
    and return their ids (bench/claims.py explains it)."""
    return _claim_update(session, worker_id, now, now + timedelta(seconds=lease_seconds), limit)


# Claim statements by (dialect, limit), with the worker, the time and the lease as parameters:
# building the statement anew for every claim cost about a third of a claim's CPU.
_claim_templates: dict[tuple[str, int], Update] = {}


def _claim_template(session: Session, limit: int) -> Update:
    key = (session.get_bind().dialect.name, limit)
    template = _claim_templates.get(key)
    if template is None:
        template = _claim_update(
            session,
            bindparam("claim_worker", type_=String),
            bindparam("claim_now", type_=UtcDateTime()),
            bindparam("claim_lease_until", type_=UtcDateTime()),
            limit,
        )
        _claim_templates[key] = template
    return template


def claim(engine: Engine, worker_id: str, limit: int, lease_seconds: float) -> Claim:
    """Lease up to `limit` tasks to this worker in one statement (fair across jobs, see
    `fair_pick`); each task is leased to one worker at a time."""
    with unit_of_work(engine) as session:
        now = utcnow()
        parameters = {
            "claim_worker": worker_id,
            "claim_now": now,
            "claim_lease_until": now + timedelta(seconds=lease_seconds),
        }
        ids = list(session.scalars(_claim_template(session, limit), parameters))
        if not ids:
            return Claim([], {}, {}, {})
        return _load_claim(session, ids)


def _load_claim(session: Session, ids: list[int]) -> Claim:
    o1, o2 = aliased(Output), aliased(Output)
    rows = session.execute(
        select(
            Task.id,
            Task.job_id,
            Task.comparison_id,
            Task.annotator_id,
            Task.pool,
            Task.attempts,
            Instruction.instruction,
            Instruction.input,
            o1.text,
            o2.text,
            Comparison.instruction_id,
            Comparison.output_1_id,
            Comparison.output_2_id,
            Instruction.messages,
        )
        .join(Comparison, Comparison.id == Task.comparison_id)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(o1, o1.id == Comparison.output_1_id)
        .join(o2, o2.id == Comparison.output_2_id)
        .where(Task.id.in_(ids))
        .order_by(Task.id)
    ).all()
    tasks = [
        ClaimedTask(
            id=r[0],
            job_id=r[1],
            comparison_id=r[2],
            annotator_id=r[3],
            pool=r[4],
            attempts=r[5],
            instruction=r[6],
            input=r[7],
            output_1=r[8],
            output_2=r[9],
            key=comparison_key(r[10], r[11], r[12]),
            messages=r[13] or [],
        )
        for r in rows
    ]
    jobs = load_jobs(session, {task.job_id for task in tasks})
    annotators = {
        r.id: AnnotatorRow(r.id, r.name, r.config or {}, r.config_sha256 or "")
        for r in session.execute(
            select(Annotator.id, Annotator.name, Annotator.config, Annotator.config_sha256).where(
                Annotator.id.in_({task.annotator_id for task in tasks})
            )
        )
    }
    pool_names = {task.pool for task in tasks if task.pool}
    pools = {
        r.name: r.config or {}
        for r in session.execute(
            select(Annotator.name, Annotator.config).where(Annotator.name.in_(pool_names))
        )
    }
    return Claim(tasks, jobs, annotators, pools)


def load_jobs(session: Session, job_ids: set[int]) -> dict[int, JobState]:
    return {
        r.id: JobState(r.status, r.budget_usd, r.spent_usd or 0.0, r.seed or 0)
        for r in session.execute(
            select(Job.id, Job.status, Job.budget_usd, Job.spent_usd, Job.seed).where(
                Job.id.in_(job_ids)
            )
        )
    }


def cached_completions(engine: Engine, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    with unit_of_work(engine) as session:
        return {
            r.key: r.completion
            for r in session.execute(
                select(LlmCache.key, LlmCache.completion).where(LlmCache.key.in_(keys))
            )
        }


def renew(engine: Engine, worker_id: str, task_ids: list[int], lease_seconds: float) -> None:
    if not task_ids:
        return
    with unit_of_work(engine) as session:
        session.execute(
            update(Task)
            .where(Task.id.in_(task_ids), Task.leased_by == worker_id, Task.status == "running")
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        )


def reap_expired(engine: Engine) -> int:
    """Put tasks whose worker stopped renewing their lease back in the queue."""
    with unit_of_work(engine) as session:
        reaped = list(
            session.scalars(
                update(Task)
                .where(Task.status == "running", Task.lease_until < utcnow())
                .values(status="queued", leased_by=None, lease_until=None)
                .returning(Task.id)
            )
        )
        _cancel_where_job_cancelled(session, reaped)
        return len(reaped)


def _cancel_where_job_cancelled(session: Session, task_ids: list[int]) -> None:
    """Tasks that went back to the queue of a job cancelled meanwhile are cancelled instead."""
    if task_ids:
        session.execute(
            update(Task)
            .where(
                Task.id.in_(sorted(task_ids)),
                Task.status == "queued",
                Task.job_id.in_(select(Job.id).where(Job.status == "cancelled")),
            )
            .values(status="cancelled", not_before=None)
            .execution_options(synchronize_session=False)
        )


def finish(
    engine: Engine,
    worker_id: str,
    outcomes: list[Outcome],
    cache_rows: list[dict[str, Any]],
) -> dict[int, JobState]:
    """Write a batch of results in one transaction; returns the touched jobs' fresh state."""
    for attempt in range(5):
        try:
            with unit_of_work(engine) as session:
                return _finish(session, worker_id, outcomes, cache_rows)
        except DBAPIError as exc:  # deadlock or serialization failure: try again
            if not is_retryable_conflict(exc) or attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _finish(
    session: Session,
    worker_id: str,
    outcomes: list[Outcome],
    cache_rows: list[dict[str, Any]],
) -> dict[int, JobState]:
    mine = (Task.leased_by == worker_id, Task.status == "running")
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)

    done = by_kind["done"]
    if done:
        owned = set(
            session.scalars(
                update(Task)
                .where(Task.id.in_(sorted(o.task.id for o in done)), *mine)
                .values(status="done", lease_until=None, leased_by=None, last_error=None)
                .returning(Task.id)
            )
        )
        annotations = [o.annotation for o in done if o.task.id in owned and o.annotation]
        if annotations:
            session.execute(insert_ignoring_conflicts(session, table(Annotation)), annotations)
    tasks = table(Task)
    fence = (tasks.c.id == bindparam("task_id"), tasks.c.leased_by == worker_id)
    if by_kind["retry"]:
        session.execute(
            update(tasks)
            .where(*fence, tasks.c.status == "running")
            .values(
                status="queued",
                not_before=bindparam("retry_at"),
                last_error=bindparam("error"),
                leased_by=None,
                lease_until=None,
            ),
            [
                {"task_id": o.task.id, "retry_at": o.not_before, "error": o.error}
                for o in by_kind["retry"]
            ],
        )
    if by_kind["failed"]:
        session.execute(
            update(tasks)
            .where(*fence, tasks.c.status == "running")
            .values(
                status="failed", last_error=bindparam("error"), leased_by=None, lease_until=None
            ),
            [{"task_id": o.task.id, "error": o.error} for o in by_kind["failed"]],
        )
    if by_kind["release"]:
        session.execute(
            update(Task)
            .where(Task.id.in_([o.task.id for o in by_kind["release"]]), *mine)
            .values(status="queued", attempts=Task.attempts - 1, leased_by=None, lease_until=None)
        )
    _cancel_where_job_cancelled(
        session, [o.task.id for o in outcomes if o.kind in ("retry", "release")]
    )
    _charge_jobs(session, outcomes)
    if cache_rows:
        session.execute(insert_ignoring_conflicts(session, table(LlmCache)), cache_rows)
    settled = {o.task.comparison_id for o in outcomes if o.kind in ("done", "failed")}
    if settled:
        settle_comparisons(session, sorted(settled))
    return load_jobs(session, {o.task.job_id for o in outcomes})


def _charge_jobs(session: Session, outcomes: list[Outcome]) -> None:
    spent: dict[int, float] = defaultdict(float)
    for outcome in outcomes:
        if outcome.spent_usd:
            spent[outcome.task.job_id] += outcome.spent_usd
    for job_id in sorted(spent):
        session.execute(
            update(Job).where(Job.id == job_id).values(spent_usd=Job.spent_usd + spent[job_id])
        )
    if spent:
        session.execute(
            update(Job)
            .where(
                Job.id.in_(sorted(spent)),
                Job.status == "active",
                Job.budget_usd.is_not(None),
                Job.spent_usd >= Job.budget_usd,
            )
            .values(status="budget_exhausted")
        )
