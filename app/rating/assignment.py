"""Which comparison a rater gets next (an assignment: a comparison leased to one rater for a
while), and recording or skipping it.

Rules:
- each comparison routed to humans gets `human_overlap` (k) different raters; a rater never
  gets the same comparison twice (unique (comparison, user) in `assignments`);
- a served comparison is assigned to the rater for the job's lease time; `human_claims`
  counts live assignments plus submitted judgments and `human_open` says it is still below k, so
  "next" reads one short partial index instead of counting judgments;
- a lapsed assignment or a skip gives the claim back, so the comparison goes to someone else
  (lapsed assignments are swept now and then, and whenever a rater would otherwise get nothing);
- gold comparisons (with a known answer) are, when the job's gold rate is above 0, served to
  every rater at that rate, looking like any other comparison, and do not count toward k;
- only an `active` job serves comparisons and takes judgments and skips: a paused job keeps the
  raters' leases but refuses what they send (409, nothing stored), a cancelled one for good.

Every change of `human_claims` is a conditional UPDATE, so k holds on PostgreSQL (row locks,
SKIP LOCKED to let raters pass each other) and on SQLite (one writer at a time) alike.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    Row,
    RowMapping,
    ScalarSelect,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.db.dialect import chains_writes, insert_ignoring_conflicts, lock_waiting, skip_locked
from app.db.models import (
    _HUMAN_QUEUE,
    HUMAN_ROUTES,
    Annotation,
    Annotator,
    Assignment,
    Comparison,
    Job,
)
from app.db.scales import Scale, Verdict, scale_named
from app.db.session import changed_rows, plain_connection
from app.errors import RequestError
from app.rating.settings import HumanSettings
from app.routing.completion import settle_comparisons

# The condition of the partial index ix_comparisons_human_queue, so "next" reads that index.
HUMAN_QUEUE = text(_HUMAN_QUEUE)

_PICK_ATTEMPTS = 5
SWEEP_EVERY = 20


class JudgingError(RequestError):
    """A submission or skip that cannot be accepted; the request changes nothing."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "judgment_refused", message)


@dataclass(frozen=True)
class Pick:
    comparison_id: int
    gold: bool


def shown_swapped_for(job_seed: int, comparison_id: int, user_id: int) -> bool:
    """Whether this rater sees output_2 on the left: fixed per (job seed, comparison, rater)."""
    digest = hashlib.sha256(f"sides:{job_seed}:{comparison_id}:{user_id}".encode()).digest()
    return bool(digest[0] & 1)


def label_for(choice: str, shown_swapped: bool) -> str:
    """The label in the comparison's own frame for a choice made between sides A and B."""
    if choice == "A":
        return "output_2" if shown_swapped else "output_1"
    if choice == "B":
        return "output_1" if shown_swapped else "output_2"
    return choice


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict in the comparison's own frame, as an annotation row holds it."""

    label: str
    strength: int | None
    preference: float


def stored_verdict(scale: Scale, verdict: Verdict, shown_swapped: bool) -> StoredVerdict:
    label = label_for(verdict.side, shown_swapped) if verdict.side else verdict.label
    assert label is not None
    return StoredVerdict(label, verdict.strength, scale.preference(label, verdict.strength))


def parse_choice(job: Job, choice: str) -> Verdict:
    """The verdict of a form's choice on the job's scale, or a 422 naming what is expected."""
    verdict = scale_named(job.preference_scale).parse(choice)
    if verdict is None:
        options = ", ".join(o.text for o in scale_named(job.preference_scale).options())
        raise JudgingError(422, f"Choose one of: {options}.")
    return verdict


_REFUSALS = {
    "paused": "This job is paused: your judgment was NOT saved. The comparison stays yours while "
    "your lease lasts: when the job resumes, open it again and send your answer.",
    "cancelled": "This job was cancelled: your judgment was NOT saved, and the job takes no more "
    "judgments. Thank you for your work on it.",
}


def refuse_unless_rateable(job: Job) -> None:
    """Raters' work is taken only while the job is active (a 409 that stores nothing)."""
    if job.status != "active":
        message = _REFUSALS.get(
            job.status, f"This job is {job.status} and takes no judgments: yours was NOT saved."
        )
        raise JudgingError(409, message)


def time_on_task(served_at: datetime, now: datetime, idle_seconds: float) -> tuple[float, float]:
    """(seconds on task, idle seconds): serve to submit, less the idle time the page reported
    (never more than the time that passed)."""
    elapsed = max(0.0, (now - served_at).total_seconds())
    idle = min(max(0.0, idle_seconds), elapsed)
    return elapsed - idle, idle


def not_seen_by(user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    return ~exists().where(Assignment.comparison_id == Comparison.id, Assignment.user_id == user_id)


def human_comparisons(job_id: ColumnExpressionArgument[int] | int) -> ColumnElement[bool]:
    return (Comparison.job_id == job_id) & Comparison.route.in_(HUMAN_ROUTES)


def draws_gold(human: HumanSettings) -> bool:
    """Whether this serving should be a gold item (drawn at the job's gold rate)."""
    return human.gold_rate > 0 and random.random() < human.gold_rate


# Bind parameters of the hot statements below: built once per shape, run with values. Named
# unlike any column: a value named after a column would become a SET of the claim's UPDATE.
JOB_ID = bindparam("the_job", type_=Integer)
USER_ID = bindparam("the_user", type_=Integer)
SKIP = bindparam("skip", type_=BigInteger, expanding=True)


@cache
def candidates(*, gold: bool, gold_mode: bool, skipping: bool, wait: bool) -> Select[int]:
    """The query of the comparison to serve a rater next (parameters `the_job`, `the_user`
    and, when `skipping`, `skip`: see `candidate_values`). With `gold`, the first gold item they
    have not seen (not locked: gold items have no k); else the oldest comparison still below k
    that they have not seen (not a gold item in `gold_mode`, where those are served apart),
    locked, skipping rows other raters are being assigned right now (with `wait`: waiting for
    them). Built once per shape: building statements costs more Python than running them."""
    if gold:
        query = select(Comparison.id).where(
            human_comparisons(JOB_ID), Comparison.gold_preference.is_not(None), not_seen_by(USER_ID)
        )
    else:
        query = select(Comparison.id).where(
            Comparison.job_id == JOB_ID, HUMAN_QUEUE, not_seen_by(USER_ID)
        )
        if gold_mode:
            query = query.where(Comparison.gold_preference.is_(None))
    if skipping:
        query = query.where(Comparison.id.not_in(SKIP))
    query = query.order_by(Comparison.id).limit(1)
    if gold:
        return query
    lock = lock_waiting if wait else skip_locked
    return lock(query, Comparison)


def candidate_values(job: Job, user_id: int, skip: set[int]) -> dict[str, object]:
    values: dict[str, object] = {"the_job": job.id, "the_user": user_id}
    if skip:
        values["skip"] = sorted(skip)
    return values


def pick_comparison(
    session: Session,
    job: Job,
    user_id: int,
    human: HumanSettings,
    skip: set[int],
    *,
    wait: bool = False,
) -> Pick | None:
    """The comparison to serve this rater next, or None when there is nothing for them.

    The one place that decides what raters see: a gold item at the job's gold rate, else the
    oldest comparison still below k that this rater has not seen (see `candidates`).
    """
    gold_mode, skipping = human.gold_rate > 0, bool(skip)
    values = candidate_values(job, user_id, skip)
    if draws_gold(human):
        gold_query = candidates(gold=True, gold_mode=gold_mode, skipping=skipping, wait=False)
        gold_id = session.scalar(gold_query, values)
        if gold_id is not None:
            return Pick(gold_id, gold=True)
    query = candidates(gold=False, gold_mode=gold_mode, skipping=skipping, wait=wait)
    comparison_id = session.scalar(query, values)
    return Pick(comparison_id, gold=False) if comparison_id is not None else None


def _claim(session: Session, comparison_id: int, k: int, *, enforce_k: bool) -> bool:
    """Count one more rater on the comparison; refused when that would exceed k."""
    statement = (
        update(Comparison)
        .where(Comparison.id == comparison_id)
        .values(
            human_claims=Comparison.human_claims + 1,
            human_open=Comparison.human_claims + 1 < k,
        )
    )
    if enforce_k:
        statement = statement.where(Comparison.human_claims < k)
    return (
        changed_rows(session.execute(statement.execution_options(synchronize_session=False))) == 1
    )


def _release(session: Session, comparison_counts: Counter[int], k: int) -> None:
    """Give claims back (lapsed assignments, skips), lowest id first to keep lock order stable."""
    for comparison_id, count in sorted(comparison_counts.items()):
        session.execute(
            update(Comparison)
            .where(Comparison.id == comparison_id)
            .values(
                human_claims=Comparison.human_claims - count,
                human_open=Comparison.human_claims - count < k,
            )
            .execution_options(synchronize_session=False)
        )


def expire_lapsed_assignments(session: Session, job: Job, now: datetime) -> int:
    """Mark assignments past their time as expired and hand their comparisons back."""
    lapsed = session.execute(
        update(Assignment)
        .where(
            Assignment.job_id == job.id,
            Assignment.status == "leased",
            Assignment.expires_at < now,
        )
        .values(status="expired")
        .returning(Assignment.comparison_id)
        .execution_options(synchronize_session=False)
    ).all()
    _release(session, Counter(row.comparison_id for row in lapsed), job.human_overlap)
    return len(lapsed)


def current_assignment(
    session: Session, user_id: int, job_id: int, now: datetime
) -> Assignment | None:
    values = {"the_job": job_id, "the_user": user_id, "the_time": now}
    row = plain_connection(session).execute(_CURRENT_ASSIGNMENT, values).first()
    return _assignment_record(row._mapping) if row is not None else None


def _assignment_record(row: RowMapping) -> Assignment:
    """A plain record of an assignment row, not loaded into the session (the hot paths read
    leases as rows: loading them into the session cost more than reading them)."""
    return Assignment(**{name: row[name] for name in _ASSIGNMENT_COLUMNS})


_CURRENT_ASSIGNMENT = (
    select(*Assignment.__table__.c)
    .where(
        Assignment.job_id == JOB_ID,
        Assignment.user_id == USER_ID,
        Assignment.status == "leased",
        Assignment.expires_at >= bindparam("the_time", type_=Assignment.expires_at.type),
    )
    .order_by(Assignment.id)
    .limit(1)
)


def assign_next(
    session: Session, user: Account, job: Job, human: HumanSettings, now: datetime | None = None
) -> Assignment | None:
    """The rater's current assignment in this job, or a new one; None when nothing is left for
    them.

    Lapsed assignments are swept on one call in SWEEP_EVERY (amortised: the sweep is a write
    every rater would otherwise queue behind) and always before answering "nothing left".
    """
    now = now or datetime.now(UTC)
    if job.status != "active" or user.paused_at is not None:
        return None
    current = current_assignment(session, user.id, job.id, now)
    if current is not None:
        return current
    swept = random.randrange(SWEEP_EVERY) == 0
    # A sweep that expired leases holds their rows' locks: this transaction must not wait then.
    released = expire_lapsed_assignments(session, job, now) if swept else 0
    assignment = _assign_new(session, user, job, human, now, may_wait=released == 0)
    if assignment is None and not swept and expire_lapsed_assignments(session, job, now):
        assignment = _assign_new(session, user, job, human, now, may_wait=False)
    return assignment


@dataclass(frozen=True)
class _Passed:
    """A picked comparison that could not be leased (full, or leased from another tab)."""

    comparison_id: int


_Lease = Assignment | _Passed | None  # None: nothing left for the rater


def _assign_new(
    session: Session,
    user: Account,
    job: Job,
    human: HumanSettings,
    now: datetime,
    *,
    may_wait: bool,
) -> Assignment | None:
    """Lease the rater a new comparison. With `may_wait` (only while this transaction holds no
    row lock, so waiting cannot deadlock), a first pick that finds every open comparison locked
    by raters being served this instant waits for them, instead of telling this rater that
    nothing is left while a comparison may still have room."""
    lease = _lease_in_one_statement if chains_writes(session) else _lease_in_steps
    passed: set[int] = set()
    for attempt in range(_PICK_ATTEMPTS):
        outcome = lease(session, user, job, human, now, passed, wait=False)
        if outcome is None and may_wait and attempt == 0:
            outcome = lease(session, user, job, human, now, passed, wait=True)
        if not isinstance(outcome, _Passed):
            return outcome
        passed.add(outcome.comparison_id)  # filled up by other raters since it was read
    return None


def _lease_in_steps(
    session: Session,
    user: Account,
    job: Job,
    human: HumanSettings,
    now: datetime,
    passed: set[int],
    *,
    wait: bool,
) -> _Lease:
    """Pick, claim and record the lease in three statements (SQLite: one writer at a time)."""
    pick = pick_comparison(session, job, user.id, human, passed, wait=wait)
    if pick is None:
        return None
    if not _claim(session, pick.comparison_id, job.human_overlap, enforce_k=not pick.gold):
        return _Passed(pick.comparison_id)
    assignment: Assignment | None = session.scalar(
        insert_ignoring_conflicts(session, Assignment)
        .values(
            job_id=job.id,
            comparison_id=pick.comparison_id,
            user_id=user.id,
            status="leased",
            shown_swapped=shown_swapped_for(job.seed, pick.comparison_id, user.id),
            created_at=now,
            expires_at=now + timedelta(seconds=human.lease_seconds),
        )
        .returning(Assignment)
    )
    if assignment is None:  # the same rater was given it from another tab just now
        _release(session, Counter([pick.comparison_id]), job.human_overlap)
        return _Passed(pick.comparison_id)
    return assignment


def _lease_in_one_statement(
    session: Session,
    user: Account,
    job: Job,
    human: HumanSettings,
    now: datetime,
    passed: set[int],
    *,
    wait: bool,
) -> _Lease:
    """The same as `_lease_in_steps` in one round trip (PostgreSQL): a WITH statement picks the
    comparison, claims it and inserts the lease. A drawn gold item that is not there falls back
    to an ordinary comparison."""
    if draws_gold(human):
        outcome = _lease_statement(session, user, job, human, now, passed, gold=True, wait=False)
        if outcome is not None:
            return outcome
    return _lease_statement(session, user, job, human, now, passed, gold=False, wait=wait)


def _lease_statement(
    session: Session,
    user: Account,
    job: Job,
    human: HumanSettings,
    now: datetime,
    passed: set[int],
    *,
    gold: bool,
    wait: bool,
) -> _Lease:
    template = _lease_template(
        session, gold=gold, gold_mode=human.gold_rate > 0, skipping=bool(passed), wait=wait
    )
    values = candidate_values(job, user.id, passed) | {
        "k": job.human_overlap,
        "sides_prefix": f"sides:{job.seed}:",
        "sides_suffix": f":{user.id}",
        "lease_start": now,
        "lease_end": now + timedelta(seconds=human.lease_seconds),
    }
    row = plain_connection(session).execute(template, values).first()
    if row is None:
        return None
    if row.claimed is None:
        return _Passed(row.picked)
    if row.id is None:  # the same rater was given it from another tab just now
        _release(session, Counter([row.claimed]), job.human_overlap)
        return _Passed(row.picked)
    return _assignment_record(row._mapping)


_ASSIGNMENT_COLUMNS = tuple(column.name for column in Assignment.__table__.c)
_lease_templates: dict[tuple[str, bool, bool, bool, bool], Select[Any]] = {}


def _lease_template(
    session: Session, *, gold: bool, gold_mode: bool, skipping: bool, wait: bool
) -> Select[Any]:
    """Pick, claim and insert the lease in one WITH statement; built once per shape."""
    shape = (session.get_bind().dialect.name, gold, gold_mode, skipping, wait)
    if shape in _lease_templates:
        return _lease_templates[shape]
    k = bindparam("k", type_=Integer)
    pick = candidates(gold=gold, gold_mode=gold_mode, skipping=skipping, wait=wait).cte("pick")
    claim = (
        update(Comparison)
        .where(Comparison.id == pick.c.id)
        .values(
            human_claims=Comparison.human_claims + 1, human_open=Comparison.human_claims + 1 < k
        )
    )
    if not gold:
        claim = claim.where(Comparison.human_claims < k)
    claimed = claim.returning(Comparison.id).cte("claimed")
    sides_key = (
        bindparam("sides_prefix", type_=Text)
        .concat(cast(claimed.c.id, Text))
        .concat(bindparam("sides_suffix", type_=Text))
    )
    lease_row = select(
        JOB_ID,
        claimed.c.id,
        USER_ID,
        literal("leased"),
        _first_bit_of_sha256(sides_key),
        bindparam("lease_start", type_=Assignment.created_at.type),
        bindparam("lease_end", type_=Assignment.expires_at.type),
    )
    columns = ["job_id", "comparison_id", "user_id", "status", "shown_swapped"]
    inserted = (
        insert_ignoring_conflicts(session, Assignment)
        .from_select([*columns, "created_at", "expires_at"], lease_row)
        .returning(*Assignment.__table__.c)
        .cte("inserted")
    )
    template = select(
        pick.c.id.label("picked"), claimed.c.id.label("claimed"), *inserted.c
    ).select_from(pick.outerjoin(claimed, true()).outerjoin(inserted, true()))
    _lease_templates[shape] = template
    return template


def _first_bit_of_sha256(key: ColumnElement[str]) -> ColumnElement[bool]:
    """`shown_swapped_for` computed by PostgreSQL: the low bit of the digest's first byte."""
    digest = func.sha256(func.convert_to(key, "UTF8"))
    return func.get_byte(digest, 0).op("&")(1) == 1


def _own_assignment(session: Session, user: Account, job: Job, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        raise JudgingError(404, "This comparison is not leased to you.")
    if assignment.job_id != job.id:
        raise JudgingError(404, "This comparison belongs to another job.")
    return assignment


@dataclass(frozen=True)
class JudgmentForm:
    """What the rating form sends with a judgment."""

    choice: str
    reason: str | None = None
    idle_seconds: float = 0.0  # reported by the page: hidden tab, no input for a while


def submit_judgment(
    session: Session,
    user: Account,
    job: Job,
    assignment_id: int,
    form: JudgmentForm,
    guideline_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Store the rater's judgment of a comparison assigned to them and return its id, or raise
    JudgingError (the request's unit of work is then rolled back: nothing changes)."""
    now = now or datetime.now(UTC)
    verdict = parse_choice(job, form.choice)
    if user.paused_at is not None:
        raise JudgingError(403, "Your rating is paused; ask an admin.")
    refuse_unless_rateable(job)
    submitted = _mark_submitted(session, user, job, assignment_id, now)
    if submitted is None:
        submitted = _resubmit_lapsed(session, user, job, assignment_id, now)
    stored = stored_verdict(scale_named(job.preference_scale), verdict, submitted.shown_swapped)
    seconds, idle = time_on_task(submitted.created_at, now, form.idle_seconds)
    annotator_id = submitted.annotator_id or human_annotator_id(session, user)
    annotation_id: int | None = plain_connection(session).scalar(
        insert_ignoring_conflicts(session, Annotation)
        .values(
            job_id=job.id,
            comparison_id=submitted.comparison_id,
            annotator_id=annotator_id,
            preference=stored.preference,
            label=stored.label,
            strength=stored.strength,
            shown_swapped=submitted.shown_swapped,
            rationale=form.reason or None,
            seconds_on_task=seconds,
            idle_seconds=idle,
            guideline_version=guideline_version,
            source="web",
            created_at=now,
        )
        .returning(Annotation.id)
    )
    if annotation_id is None:
        raise JudgingError(409, "A judgment of yours for this comparison is stored already.")
    settle_comparisons(session, [submitted.comparison_id], finishing=True)
    return annotation_id


def _annotator_of(user: Account) -> ScalarSelect[int]:
    return (
        select(Annotator.id)
        .where(Annotator.user_id == user.id, Annotator.kind == "human")
        .scalar_subquery()
    )


def _mark_submitted(
    session: Session, user: Account, job: Job, assignment_id: int, now: datetime
) -> Row[int, bool, datetime, int | None] | None:
    """Turn this rater's assignment into a submission; its (comparison_id, shown_swapped,
    created_at, the rater's annotator id if they have one), or None when it was not assigned to
    them (any more)."""
    values = {
        "the_assignment": assignment_id,
        "the_user": user.id,
        "the_job": job.id,
        "the_time": now,
    }
    return plain_connection(session).execute(_MARK_SUBMITTED, values).first()


_MARK_SUBMITTED = (
    update(Assignment)
    .where(
        Assignment.id == bindparam("the_assignment", type_=BigInteger),
        Assignment.user_id == USER_ID,
        Assignment.job_id == JOB_ID,
        Assignment.status == "leased",
    )
    .values(
        status="submitted",
        submitted_at=bindparam("the_time", type_=Assignment.submitted_at.type),
    )
    .returning(
        Assignment.comparison_id,
        Assignment.shown_swapped,
        Assignment.created_at,
        select(Annotator.id)
        .where(Annotator.user_id == USER_ID, Annotator.kind == "human")
        .scalar_subquery()
        .label("annotator_id"),
    )
    .execution_options(synchronize_session=False)
)


def _resubmit_lapsed(
    session: Session, user: Account, job: Job, assignment_id: int, now: datetime
) -> Row[int, bool, datetime, int | None]:
    """A submission for a lapsed assignment is accepted while the comparison still has room."""
    assignment = _own_assignment(session, user, job, assignment_id)
    if assignment.status == "submitted":
        raise JudgingError(409, "You have judged this comparison already.")
    if assignment.status == "skipped":
        raise JudgingError(409, "You skipped this comparison.")
    if not _claim(session, assignment.comparison_id, job.human_overlap, enforce_k=True):
        raise JudgingError(409, "Your lease lapsed and other raters have judged it since.")
    submitted = session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.status == "expired")
        .values(status="submitted", submitted_at=now)
        .returning(
            Assignment.comparison_id,
            Assignment.shown_swapped,
            Assignment.created_at,
            _annotator_of(user).label("annotator_id"),
        )
        .execution_options(synchronize_session=False)
    ).first()
    if submitted is None:  # changed under us; the request's rollback undoes the claim
        raise JudgingError(409, "This comparison changed while you submitted; reload the page.")
    return submitted


def skip_comparison(session: Session, user: Account, job: Job, assignment_id: int) -> None:
    """The rater passes on a comparison: it goes to other raters and never back to this one."""
    refuse_unless_rateable(job)
    for held_claim, status in ((True, "leased"), (False, "expired")):
        comparison_id = session.scalar(
            update(Assignment)
            .where(
                Assignment.id == assignment_id,
                Assignment.user_id == user.id,
                Assignment.job_id == job.id,
                Assignment.status == status,
            )
            .values(status="skipped")
            .returning(Assignment.comparison_id)
            .execution_options(synchronize_session=False)
        )
        if comparison_id is not None:
            if held_claim:
                _release(session, Counter([comparison_id]), job.human_overlap)
            return
    assignment = _own_assignment(session, user, job, assignment_id)
    raise JudgingError(409, f"This comparison is {assignment.status} already.")


def human_annotator_id(session: Session, user: Account) -> int:
    """The `human:<email>` annotator of a rater (made on the fly for accounts that lack one)."""
    annotator_id = session.scalar(
        select(Annotator.id).where(Annotator.user_id == user.id, Annotator.kind == "human")
    )
    if annotator_id is None:
        annotator = Annotator(kind="human", name=f"human:{user.email}", user_id=user.id)
        session.add(annotator)
        session.flush()
        annotator_id = annotator.id
    return annotator_id
