"""The rater's pages: the jobs they may rate, the rating page ("next") and submitting."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.http.deps import RaterLogin, SessionDep, SettingsDep, check_csrf
from app.http.pages import render
from app.http.params import AssignmentIdField, JobId
from app.rating.assignment import JudgingError, skip_comparison, submit_judgment
from app.rating.pages import rater_job, rater_jobs, rating_view
from app.rating.quality import enforce_gold_floor

router = APIRouter(include_in_schema=False)

CHOICE_TEXT = {
    "A": "A is better",
    "B": "B is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
    "skip": "Skipped",
}
MAX_REASON = 2000


@router.get("/rate")
def rater_home(request: Request, login: RaterLogin, session: SessionDep) -> Response:
    jobs, today = rater_jobs(session, login.user)
    return render(request, "rate_home.html", {"login": login, "jobs": jobs, "rated_today": today})


@router.get("/rate/{job_id}")
def rating_page(
    job_id: JobId,
    request: Request,
    login: RaterLogin,
    session: SessionDep,
    settings: SettingsDep,
    done: str | None = None,
) -> Response:
    view = rating_view(session, login.user, job_id, settings)
    context: dict[str, Any] = {
        "login": login,
        "job": view.job,
        "human": view.human,
        "announcement": CHOICE_TEXT.get(done or "", ""),
        "rated_today": view.progress.rated_today,
        "left": view.progress.left,
    }
    if view.on_screen is None:
        return render(request, "rate_empty.html", context)
    context.update(
        assignment=view.on_screen.assignment,
        instruction=view.on_screen.instruction,
        input_text=view.on_screen.input_text,
        output_a=view.on_screen.output_a,
        output_b=view.on_screen.output_b,
    )
    return render(request, "rate.html", context)


@router.post("/rate/{job_id}/judgments")
def submit(
    job_id: JobId,
    login: RaterLogin,
    session: SessionDep,
    settings: SettingsDep,
    assignment_id: AssignmentIdField,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "submit",
    choice: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    job, human = rater_job(session, login.user, job_id, settings)
    reason = reason.strip()
    if action == "skip":
        skip_comparison(session, login.user, job, assignment_id)
        done = "skip"
    elif action == "submit":
        if human.reason_required and not reason:
            raise JudgingError(422, "This job asks for a short reason with every judgment.")
        submit_judgment(session, login.user, job, assignment_id, choice, reason)
        enforce_gold_floor(session, login.user, job.id, human)
        done = choice
    else:
        raise JudgingError(422, "Unknown action.")
    return RedirectResponse(f"/rate/{job.id}?done={done}", status_code=303)
