"""What the rater's pages show: the jobs open to a rater, and the comparison to rate next with
the progress figures around it. Read in as few round trips as the page allows: the rating page
is the hottest path of the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session, aliased

from app.accounts.identity import Account
from app.config import Settings
from app.db.models import (
    Assignment,
    Comparison,
    Instruction,
    Job,
    JobHumanSettings,
    Output,
    RaterJob,
)
from app.errors import RequestError
from app.rating.assignment import HUMAN_QUEUE, assign_next
from app.rating.settings import HumanSettings, settings_from_row

LEFT_COUNT_CAP = 1000


@dataclass(frozen=True)
class RaterProgress:
    rated_today: int
    left: int  # comparisons of the job still waiting for raters, counted up to LEFT_COUNT_CAP + 1


@dataclass(frozen=True)
class ComparisonOnScreen:
    assignment: Assignment
    instruction: str
    input_text: str
    output_a: str  # as this rater sees it: output_2 when the sides are swapped for them
    output_b: str


@dataclass(frozen=True)
class RatingView:
    job: Job
    human: HumanSettings
    progress: RaterProgress
    on_screen: ComparisonOnScreen | None  # None: nothing left for this rater now


def _rated_today(user_id: int) -> ScalarSelect[int]:
    midnight = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    return (
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.user_id == user_id, Assignment.submitted_at >= midnight)
        .scalar_subquery()
    )


def _comparisons_left(job_id: int) -> ScalarSelect[int]:
    """Comparisons of the job still waiting for raters (short of k, gold items included),
    counted up to LEFT_COUNT_CAP + 1 so that a page never counts a whole large job."""
    waiting = (
        select(Comparison.id)
        .where(Comparison.job_id == job_id, HUMAN_QUEUE)
        .limit(LEFT_COUNT_CAP + 1)
        .subquery()
    )
    return select(func.count()).select_from(waiting).scalar_subquery()


def rater_progress(session: Session, user_id: int, job_id: int) -> RaterProgress:
    rated_today, left = session.execute(
        select(_rated_today(user_id), _comparisons_left(job_id))
    ).one()
    return RaterProgress(rated_today, left)


def rater_job(
    session: Session, user: Account, job_id: int, settings: Settings
) -> tuple[Job, HumanSettings]:
    """The job and its human settings, if this rater may rate it (one query: pages are hot)."""
    row = session.execute(
        select(Job, JobHumanSettings)
        .join(RaterJob, (RaterJob.job_id == Job.id) & (RaterJob.user_id == user.id))
        .outerjoin(JobHumanSettings, JobHumanSettings.job_id == Job.id)
        .where(Job.id == job_id)
    ).first()
    if row is None:
        raise RequestError(404, "not_found", "There is no job with this number that you may rate.")
    return row.Job, settings_from_row(row.JobHumanSettings, settings)


def rater_jobs(session: Session, user: Account) -> tuple[list[tuple[Job, int]], int]:
    """The jobs open to the rater with what is left in each, and how many they rated today."""
    jobs = session.scalars(
        select(Job)
        .join(RaterJob, RaterJob.job_id == Job.id)
        .where(RaterJob.user_id == user.id)
        .order_by(Job.id)
    ).all()
    rows = [(job, rater_progress(session, user.id, job.id).left) for job in jobs]
    today = session.scalar(select(_rated_today(user.id))) or 0
    return rows, today


def rating_view(session: Session, user: Account, job_id: int, settings: Settings) -> RatingView:
    """The rater's current comparison in the job (assigning a new one if needed)."""
    job, human = rater_job(session, user, job_id, settings)
    assignment = assign_next(session, user, job, human)
    if assignment is None:
        return RatingView(job, human, rater_progress(session, user.id, job.id), None)
    output_1, output_2 = aliased(Output), aliased(Output)
    row = session.execute(  # the page in one round trip: texts and progress figures
        select(
            Instruction.instruction,
            Instruction.input,
            output_1.text,
            output_2.text,
            Comparison.human_open,
            _rated_today(user.id),
            _comparisons_left(job.id),
        )
        .select_from(Comparison)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(output_1, output_1.id == Comparison.output_1_id)
        .join(output_2, output_2.id == Comparison.output_2_id)
        .where(Comparison.id == assignment.comparison_id)
    ).one()
    instruction, input_text, text_1, text_2, still_open, today, left = row
    if assignment.shown_swapped:
        text_1, text_2 = text_2, text_1
    # The comparison on screen is not done, even when its last free place is this rater's.
    progress = RaterProgress(today, left + (0 if still_open else 1))
    on_screen = ComparisonOnScreen(assignment, instruction, input_text, text_1, text_2)
    return RatingView(job, human, progress, on_screen)
