"""The rater's pages: the jobs with work for them, a job's guidelines, the rating page ("next"),
changing the last judgment, and submitting."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.db.values import INT64_MAX
from app.errors import RequestError
from app.http.deps import SettingsDep, check_csrf, rater_unit_of_work
from app.http.pages import render
from app.http.params import AssignmentId, JobId, OptionalAssignmentIdField
from app.rating.actions import RaterPost, act
from app.rating.pages import (
    LEFT_COUNT_CAP,
    RaterJobView,
    acknowledge_guidelines,
    guidelines_view,
    job_offers,
    rating_view,
    revision_view,
)

router = APIRouter(include_in_schema=False)

MAX_REASON = 2000
MAX_IDLE_SECONDS = 7 * 24 * 3600


def _saved_text(view: RaterJobView, done: str | None) -> str:
    if not done:
        return ""
    if done == "skip":
        return "Skipped"
    texts = {option.value: option.text for option in view.scale.options()}
    return texts.get(done, "")


def _job_context(view: RaterJobView, settings: Settings) -> dict[str, Any]:
    return {
        "job": view.job,
        "human": view.human,
        "scale": view.scale,
        "options": view.scale.options(),
        "guidelines": view.guidelines,
        "guidelines_version": view.job.guidelines_version,
        "left_cap": LEFT_COUNT_CAP,
        "idle_after_seconds": settings.idle_after_seconds,
    }


# Each handler opens its unit of work itself (rater_unit_of_work) and renders once it has ended.
# The login is read there, after FastAPI has read the form: a form field the handler needs is
# optional to FastAPI and required by `_required`, so a caller without a login is sent to log in
# before being told what their form lacks, as a login dependency would have ordered it.


def _required(value: int | None, field: str) -> int:
    if value is None:
        raise RequestError(
            422,
            "validation_error",
            f"the form lacks {field}",
            [{"field": field, "reason": "required"}],
        )
    return value


@router.get("/rate")
def rater_home(request: Request) -> Response:
    with rater_unit_of_work(request) as (session, login):
        offers, today = job_offers(session, login.user)
    return render(
        request,
        "rate_home.html",
        {
            "login": login,
            "offers": [offer for offer in offers if offer.has_work],
            "others": [offer for offer in offers if not offer.has_work],
            "rated_today": today,
            "left_cap": LEFT_COUNT_CAP,
        },
    )


@router.get("/rate/{job_id}")
def rating_page(
    job_id: JobId,
    request: Request,
    settings: SettingsDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    last: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    changed: bool = False,
) -> Response:
    with rater_unit_of_work(request) as (session, login):
        view = rating_view(session, login.user, job_id, settings)
    if view.rater_job.guidelines_due:
        return RedirectResponse(f"/rate/{job_id}/guidelines", status_code=303)
    context = _job_context(view.rater_job, settings)
    context.update(
        login=login,
        announcement=_saved_text(view.rater_job, done),
        changed=changed,
        undo_assignment=last if done and done != "skip" else None,
        progress=view.progress,
    )
    if view.on_screen is None:
        return render(request, "rate_empty.html", context)
    context.update(on_screen=view.on_screen, mode="rate", current_choice="", reason="")
    return render(request, "rate.html", context)


@router.get("/rate/{job_id}/revise/{assignment_id}")
def revise_page(
    job_id: JobId,
    assignment_id: AssignmentId,
    request: Request,
    settings: SettingsDep,
) -> Response:
    with rater_unit_of_work(request) as (session, login):
        view = revision_view(session, login.user, job_id, assignment_id, settings)
    context = _job_context(view.rater_job, settings)
    context.update(
        login=login,
        on_screen=view.on_screen,
        mode="revise",
        current_choice=view.choice,
        reason=view.reason,
        version=view.version,
    )
    return render(request, "rate.html", context)


@router.get("/rate/{job_id}/guidelines")
def guidelines_page(job_id: JobId, request: Request, settings: SettingsDep) -> Response:
    with rater_unit_of_work(request) as (session, login):
        view = guidelines_view(session, login.user, job_id, settings)
    context = _job_context(view, settings)
    context.update(login=login, due=view.guidelines_due, first=view.guidelines_seen == 0)
    return render(request, "rate_guidelines.html", context)


@router.post("/rate/{job_id}/guidelines")
def read_guidelines(
    job_id: JobId,
    request: Request,
    settings: SettingsDep,
    version: Annotated[int | None, Form(ge=0)] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    with rater_unit_of_work(request) as (session, login):
        check_csrf(login, csrf_token)
        read = _required(version, "version")
        acknowledge_guidelines(session, login.user, job_id, read, settings)
    return RedirectResponse(f"/rate/{job_id}", status_code=303)


@router.post("/rate/{job_id}/judgments")
def submit(
    job_id: JobId,
    request: Request,
    settings: SettingsDep,
    assignment_id: OptionalAssignmentIdField = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "submit",
    choice: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    idle_seconds: Annotated[float, Form(ge=0, le=MAX_IDLE_SECONDS)] = 0.0,
) -> Response:
    with rater_unit_of_work(request) as (session, login):
        check_csrf(login, csrf_token)
        assignment = _required(assignment_id, "assignment_id")
        post = RaterPost(assignment, action, choice, reason, idle_seconds)
        outcome = act(session, login.user, job_id, settings, post)
    query: dict[str, Any] = {"done": outcome.choice}
    if outcome.action != "skip":
        query["last"] = outcome.assignment_id
    if outcome.action == "revise":
        query["changed"] = 1
    return RedirectResponse(f"/rate/{outcome.job_id}?{urlencode(query)}", status_code=303)
