"""The rater's pages: the jobs they may rate, the rating page ("next") and submitting."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session, aliased

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
from app.rating.assignment import (
    CHOICES,
    HUMAN_QUEUE,
    JudgingError,
    lease_next,
    skip_comparison,
    submit_judgment,
)
from app.rating.quality import enforce_gold_floor
from app.rating.settings import HumanSettings, settings_from_row
from app.web.deps import RaterLogin, SessionDep, SettingsDep, check_csrf
from app.web.errors import WebError
from app.web.sessions import Login
from app.web.templating import render

router = APIRouter(include_in_schema=False)

CHOICE_TEXT = {
    "A": "A is better",
    "B": "B is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
    "skip": "Skipped",
}
MAX_REASON = 2000


LEFT_COUNT_CAP = 1000


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


def progress(db: Session, user_id: int, job_id: int) -> tuple[int, int]:
    """(judgments this rater made today, comparisons left in the job)."""
    row = db.execute(select(_rated_today(user_id), _comparisons_left(job_id))).one()
    return row[0], row[1]


def _rater_job(
    db: Session, login: Login, job_id: int, settings: Settings
) -> tuple[Job, HumanSettings]:
    """The job and its human settings, if this rater may rate it (one query: pages are hot)."""
    row = db.execute(
        select(Job, JobHumanSettings)
        .join(RaterJob, (RaterJob.job_id == Job.id) & (RaterJob.user_id == login.user.id))
        .outerjoin(JobHumanSettings, JobHumanSettings.job_id == Job.id)
        .where(Job.id == job_id)
    ).first()
    if row is None:
        raise WebError(404, "There is no job with this number that you may rate.")
    return row.Job, settings_from_row(row.JobHumanSettings, settings)


@router.get("/rate")
def rater_home(request: Request, login: RaterLogin, db: SessionDep) -> Response:
    jobs = db.scalars(
        select(Job)
        .join(RaterJob, RaterJob.job_id == Job.id)
        .where(RaterJob.user_id == login.user.id)
        .order_by(Job.id)
    ).all()
    rows = [(job, progress(db, login.user.id, job.id)[1]) for job in jobs]
    today = db.scalar(select(_rated_today(login.user.id))) or 0
    return render(request, "rate_home.html", {"login": login, "jobs": rows, "rated_today": today})


@router.get("/rate/{job_id}")
def rating_page(
    job_id: int,
    request: Request,
    login: RaterLogin,
    db: SessionDep,
    settings: SettingsDep,
    done: str | None = None,
) -> Response:
    job, human = _rater_job(db, login, job_id, settings)
    assignment = lease_next(db, login.user, job, human)
    context = {
        "login": login,
        "job": job,
        "human": human,
        "announcement": CHOICE_TEXT.get(done or "", ""),
    }
    if assignment is None:
        context["rated_today"], context["left"] = progress(db, login.user.id, job.id)
        return render(request, "rate_empty.html", context)
    output_a, output_b = aliased(Output), aliased(Output)
    row = db.execute(  # the page in one round trip: texts and progress figures
        select(
            Instruction.instruction,
            Instruction.input,
            output_a.text,
            output_b.text,
            Comparison.human_open,
            _rated_today(login.user.id),
            _comparisons_left(job.id),
        )
        .select_from(Comparison)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(output_a, output_a.id == Comparison.output_1_id)
        .join(output_b, output_b.id == Comparison.output_2_id)
        .where(Comparison.id == assignment.comparison_id)
    ).one()
    instruction, input_text, output_1, output_2, still_open, today, left = row
    context["rated_today"] = today
    context["left"] = left + (0 if still_open else 1)  # the comparison on screen is not done
    if assignment.shown_swapped:
        output_1, output_2 = output_2, output_1
    context.update(
        assignment=assignment,
        instruction=instruction,
        input_text=input_text,
        output_a=output_1,
        output_b=output_2,
    )
    return render(request, "rate.html", context)


@router.post("/rate/{job_id}/judgments")
def submit(
    job_id: int,
    login: RaterLogin,
    db: SessionDep,
    settings: SettingsDep,
    assignment_id: Annotated[int, Form()],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "submit",
    choice: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    job, human = _rater_job(db, login, job_id, settings)
    reason = reason.strip()
    try:
        if action == "skip":
            skip_comparison(db, login.user, job, assignment_id)
            done = "skip"
        elif action == "submit":
            if choice not in CHOICES:
                raise JudgingError(422, "Choose A better, B better, tie or both bad.")
            if human.reason_required and not reason:
                raise JudgingError(422, "This job asks for a short reason with every judgment.")
            submit_judgment(db, login.user, job, assignment_id, choice, reason)
            enforce_gold_floor(db, login.user, job.id, human)
            done = choice
        else:
            raise JudgingError(422, "Unknown action.")
    except JudgingError as error:
        raise WebError(error.status, error.message) from error
    return RedirectResponse(f"/rate/{job.id}?done={done}", status_code=303)
