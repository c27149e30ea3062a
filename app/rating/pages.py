"""What the rater's pages show: the jobs with work for a rater, the job's guidelines, the
comparison to rate next (or to change) with the progress figures around it.

Read in as few round trips as the page allows: the rating page is the hottest path of the
service. Every count is bounded: a page never counts more than LEFT_COUNT_CAP + 1 rows of a job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ColumnExpressionArgument,
    ScalarSelect,
    Select,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from app.accounts.identity import Account
from app.config import Settings
from app.db.models import (
    Assignment,
    Comparison,
    Instruction,
    Job,
    JobGuidelines,
    JobHumanSettings,
    Output,
    RaterJob,
)
from app.db.scales import Scale, scale_named
from app.errors import RequestError
from app.rating.assignment import (
    HUMAN_QUEUE,
    JOB_ID,
    USER_ID,
    assign_next,
    human_comparisons,
    not_seen_by,
)
from app.rating.revisions import revisable_judgment
from app.rating.settings import HumanSettings, settings_from_row

LEFT_COUNT_CAP = 1000
# A job's id, or its column when one statement covers every job of a rater.
JobId = ColumnExpressionArgument[int] | int


@dataclass(frozen=True)
class RaterProgress:
    rated_today: int  # by this rater since midnight UTC, in every job
    left_for_you: int  # comparisons this rater may still be given here, up to LEFT_COUNT_CAP + 1
    job_waiting: int  # comparisons of the whole job still short of raters, up to the cap + 1


@dataclass(frozen=True)
class RaterJobView:
    """A job as one rater may rate it."""

    job: Job
    human: HumanSettings
    guidelines_seen: int  # the version this rater last read (0: none)
    guidelines: str  # the current text (empty when the job has none, or not loaded)

    @property
    def scale(self) -> Scale:
        return scale_named(self.job.preference_scale)

    @property
    def guidelines_due(self) -> bool:
        """The job has guidelines this rater has not read in their current version."""
        return self.job.guidelines_version > self.guidelines_seen

    @property
    def working_version(self) -> int | None:
        """The guidelines version the rater's judgments are made under (None: none read)."""
        return self.guidelines_seen or None


@dataclass(frozen=True)
class ComparisonOnScreen:
    assignment: Assignment
    instruction: str
    input_text: str
    output_a: str  # as this rater sees it: output_2 when the sides are swapped for them
    output_b: str
    # A conversation prompt's messages, its last user turn last; empty for an instruction.
    messages: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RatingView:
    rater_job: RaterJobView
    progress: RaterProgress
    on_screen: ComparisonOnScreen | None  # None: nothing to rate here now (see job.status)


@dataclass(frozen=True)
class RevisionView:
    rater_job: RaterJobView
    on_screen: ComparisonOnScreen
    choice: str  # the current verdict as a form value on the job's scale
    reason: str
    version: int


@dataclass(frozen=True)
class JobOffer:
    job: Job
    left_for_you: int
    job_waiting: int
    holds_lease: bool

    @property
    def has_work(self) -> bool:
        return self.job.status == "active" and (self.holds_lease or self.left_for_you > 0)


def _midnight() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)


def _rated_today(
    user_id: ColumnElement[int] | int, midnight: ColumnElement[datetime] | datetime
) -> ScalarSelect[int]:
    return (
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.user_id == user_id, Assignment.submitted_at >= midnight)
        .scalar_subquery()
    )


def _capped_count(*conditions: ColumnExpressionArgument[bool]) -> ScalarSelect[int]:
    """How many comparisons meet the conditions, counted up to LEFT_COUNT_CAP + 1 rows."""
    # Correlated to the jobs of an enclosing statement (the job list counts every job at once).
    rows = (
        select(Comparison.id).where(*conditions).correlate(Job).limit(LEFT_COUNT_CAP + 1)
    ).subquery()
    return select(func.count()).select_from(rows).scalar_subquery()


def _job_waiting(job_id: JobId) -> ScalarSelect[int]:
    """Comparisons of the job still waiting for raters (short of k, gold items included)."""
    return _capped_count(Comparison.job_id == job_id, HUMAN_QUEUE)


def _left_for_rater(
    job_id: JobId, user_id: ColumnElement[int] | int, gold_mode: ColumnElement[bool] | bool
) -> ColumnElement[int]:
    """Comparisons pick_comparison could still give this rater: open ones they have not seen
    (not gold ones while gold items are served apart) plus, in gold mode, unseen gold items."""
    is_gold = Comparison.gold_preference.is_not(None)
    unseen = not_seen_by(user_id)
    open_unseen = (Comparison.job_id == job_id, HUMAN_QUEUE, unseen)
    every_open = _capped_count(*open_unseen)
    gold_apart = _capped_count(*open_unseen, ~is_gold) + _capped_count(
        human_comparisons(job_id), is_gold, unseen
    )
    if isinstance(gold_mode, bool):
        return gold_apart if gold_mode else every_open
    return case((gold_mode, gold_apart), else_=every_open)


def rater_progress(
    session: Session, user_id: int, job_id: int, human: HumanSettings
) -> RaterProgress:
    values = _progress_values(user_id, job_id)
    today, left, waiting = session.execute(_progress_template(human.gold_rate > 0), values).one()
    return RaterProgress(today, left, waiting)


def _progress_values(user_id: int, job_id: int) -> dict[str, object]:
    return {"the_user": user_id, "the_job": job_id, "midnight": _midnight()}


@cache
def _progress_template(gold_mode: bool) -> Select[int, int, int]:
    """The three figures of the rating page in one statement, built once per shape."""
    midnight = bindparam("midnight", type_=Assignment.submitted_at.type)
    return select(
        _rated_today(USER_ID, midnight),
        _left_for_rater(JOB_ID, USER_ID, gold_mode),
        _job_waiting(JOB_ID),
    )


def rater_job(
    session: Session,
    user: Account,
    job_id: int,
    settings: Settings,
    *,
    with_guidelines: bool = False,
) -> RaterJobView:
    """The job, its human settings and this rater's guidelines state, if they may rate it (one
    query: pages are hot). With `with_guidelines`, the current guidelines text too."""
    row = session.execute(
        _rater_job_template(with_guidelines), {"the_job": job_id, "the_user": user.id}
    ).first()
    if row is None:
        raise RequestError(404, "not_found", "There is no job with this number that you may rate.")
    job, human_row, seen, text = row
    return RaterJobView(job, settings_from_row(human_row, settings), seen, text or "")


@cache
def _rater_job_template(with_guidelines: bool) -> Select[Job, JobHumanSettings, int, str]:
    text_column = JobGuidelines.text if with_guidelines else literal("")
    query = (
        select(Job, JobHumanSettings, RaterJob.guidelines_seen, text_column)
        .join(RaterJob, (RaterJob.job_id == Job.id) & (RaterJob.user_id == USER_ID))
        .outerjoin(JobHumanSettings, JobHumanSettings.job_id == Job.id)
        .where(Job.id == JOB_ID)
    )
    if with_guidelines:
        query = query.outerjoin(
            JobGuidelines,
            (JobGuidelines.job_id == Job.id) & (JobGuidelines.version == Job.guidelines_version),
        )
    return query


def job_offers(session: Session, user: Account) -> tuple[list[JobOffer], int]:
    """Every job open to the rater with what is left in it for them, and how many they rated
    today: one statement, each count bounded."""
    live_lease = exists().where(
        Assignment.job_id == Job.id,
        Assignment.user_id == user.id,
        Assignment.status == "leased",
        Assignment.expires_at >= datetime.now(UTC),
    )
    gold_mode = func.coalesce(JobHumanSettings.gold_rate, 0) > 0
    rows = session.execute(
        select(
            Job,
            _left_for_rater(Job.id, user.id, gold_mode),
            _job_waiting(Job.id),
            live_lease,
            _rated_today(user.id, _midnight()),
        )
        .join(RaterJob, (RaterJob.job_id == Job.id) & (RaterJob.user_id == user.id))
        .outerjoin(JobHumanSettings, JobHumanSettings.job_id == Job.id)
        .order_by(Job.id)
    ).all()
    offers = [JobOffer(job, left, waiting, bool(lease)) for job, left, waiting, lease, _ in rows]
    today = rows[0][4] if rows else session.scalar(select(_rated_today(user.id, _midnight()))) or 0
    return offers, today


@cache
def _texts_template() -> Select[str, str, str, str, list[dict[str, str]] | None]:
    output_1, output_2 = aliased(Output), aliased(Output)
    return (
        select(
            Instruction.instruction,
            Instruction.input,
            output_1.text,
            output_2.text,
            Instruction.messages,
        )
        .select_from(Comparison)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(output_1, output_1.id == Comparison.output_1_id)
        .join(output_2, output_2.id == Comparison.output_2_id)
        .where(Comparison.id == bindparam("comparison_id", type_=BigInteger))
    )


def _on_screen(session: Session, assignment: Assignment) -> ComparisonOnScreen:
    texts = session.execute(_texts_template(), {"comparison_id": assignment.comparison_id}).one()
    return _comparison_on_screen(assignment, *texts)


def _comparison_on_screen(
    assignment: Assignment,
    instruction: str,
    input_text: str,
    text_1: str,
    text_2: str,
    messages: list[dict[str, str]] | None,
) -> ComparisonOnScreen:
    if assignment.shown_swapped:
        text_1, text_2 = text_2, text_1
    return ComparisonOnScreen(assignment, instruction, input_text, text_1, text_2, messages or [])


def rating_view(session: Session, user: Account, job_id: int, settings: Settings) -> RatingView:
    """The rater's current comparison in the job (assigning a new one if needed). Nothing is
    assigned while the job has guidelines the rater has not read (`guidelines_due`)."""
    view = rater_job(session, user, job_id, settings, with_guidelines=True)
    if view.guidelines_due:
        return RatingView(view, RaterProgress(0, 0, 0), None)
    assignment = assign_next(session, user, view.job, view.human)
    if assignment is None:
        return RatingView(view, rater_progress(session, user.id, view.job.id, view.human), None)
    # The figures and the texts in one round trip.
    values = _progress_values(user.id, view.job.id) | {"comparison_id": assignment.comparison_id}
    row = session.execute(_page_template(view.human.gold_rate > 0), values).one()
    *texts, today, left, waiting = row
    # The comparison on screen is the rater's until they answer: it is still left for them.
    progress = RaterProgress(today, left + 1, waiting)
    return RatingView(view, progress, _comparison_on_screen(assignment, *texts))


@cache
def _page_template(gold_mode: bool) -> Select[Any]:
    return _texts_template().add_columns(*_progress_template(gold_mode).selected_columns)


def revision_view(
    session: Session, user: Account, job_id: int, assignment_id: int, settings: Settings
) -> RevisionView:
    """The rater's last judgment, shown again to be changed (or a JudgingError saying why not)."""
    view = rater_job(session, user, job_id, settings, with_guidelines=True)
    assignment, annotation = revisable_judgment(
        session, user, view.job, assignment_id, datetime.now(UTC)
    )
    choice = view.scale.choice_of(
        annotation.label or "tie", annotation.strength, assignment.shown_swapped
    )
    return RevisionView(
        view,
        _on_screen(session, assignment),
        choice,
        annotation.rationale or "",
        annotation.version,
    )


def guidelines_view(
    session: Session, user: Account, job_id: int, settings: Settings
) -> RaterJobView:
    return rater_job(session, user, job_id, settings, with_guidelines=True)


def acknowledge_guidelines(
    session: Session, user: Account, job_id: int, version: int, settings: Settings
) -> None:
    """The rater has read the job's guidelines up to `version` (never beyond the current one)."""
    view = rater_job(session, user, job_id, settings)
    read = min(max(version, 0), view.job.guidelines_version)
    session.execute(
        update(RaterJob)
        .where(
            RaterJob.user_id == user.id,
            RaterJob.job_id == view.job.id,
            RaterJob.guidelines_seen < read,
        )
        .values(guidelines_seen=read)
    )
