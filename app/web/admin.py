"""Admin pages: raters (create, group, pause, reset password, job access), their quality, and
jobs (human settings, scale, guidelines, opening a job to raters)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.db.scales import SCALES, ScaleName
from app.db.values import INT32_MAX
from app.errors import RequestError
from app.http.deps import AdminLogin, SessionDep, SettingsDep, check_csrf
from app.http.pages import render
from app.http.params import JobId, UserId
from app.jobs.lifecycle import update_job
from app.jobs.rating_setup import MAX_GUIDELINES_CHARS
from app.rating.quality import TIME_BIN_LABELS, pause_rater, unpause_rater
from app.rating.raters import (
    MAX_GROUP_CHARS,
    add_rater,
    admin_jobs,
    close_job,
    job_setup,
    load_job,
    load_rater,
    open_job,
    rater_detail,
    reset_password,
    roster,
    set_rater_group,
    set_rater_jobs,
)
from app.rating.settings import save_human_settings

router = APIRouter(prefix="/admin", include_in_schema=False)


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _optional_number(text: str, kind: type[float] | type[int], message: str) -> float | None:
    try:
        return kind(text) if text.strip() else None
    except ValueError as error:
        raise RequestError(422, "invalid_setting", message) from error


@router.get("")
def admin_home(_login: AdminLogin) -> Response:
    return _back("/admin/raters")


@router.get("/raters")
def raters_page(
    request: Request,
    login: AdminLogin,
    session: SessionDep,
    group: Annotated[str | None, Query(max_length=100)] = None,
    job: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> Response:
    overview = roster(session, group or None, job)
    return render(
        request,
        "admin/raters.html",
        {
            "login": login,
            "raters": overview.raters,
            "judgments": overview.judgments,
            "jobs_allowed": overview.jobs_allowed,
            "groups": overview.groups,
            "human_jobs": overview.human_jobs,
            "group": group or "",
            "job_filter": job,
            "max_group": MAX_GROUP_CHARS,
        },
    )


@router.post("/raters")
def create_rater(
    login: AdminLogin,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    group: Annotated[str, Form(max_length=MAX_GROUP_CHARS)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    user = add_rater(session, email, password, group)
    return _back(f"/admin/raters/{user.id}")


@router.get("/raters/{user_id}")
def rater_page(
    user_id: UserId,
    request: Request,
    login: AdminLogin,
    session: SessionDep,
    settings: SettingsDep,
    all_jobs: bool = False,
) -> Response:
    detail = rater_detail(session, user_id, settings, all_jobs)
    return render(
        request,
        "admin/rater.html",
        {
            "login": login,
            "rater": detail.rater,
            "jobs": detail.jobs,
            "all_jobs": detail.all_jobs,
            "allowed": detail.allowed,
            "quality": detail.quality,
            "bin_labels": TIME_BIN_LABELS,
            "max_group": MAX_GROUP_CHARS,
        },
    )


@router.post("/raters/{user_id}/group")
def change_group(
    user_id: UserId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    group: Annotated[str, Form(max_length=MAX_GROUP_CHARS)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    set_rater_group(session, user_id, group)
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/pause")
def pause(
    user_id: UserId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    rater = load_rater(session, user_id)
    pause_rater(session, rater.id, reason.strip() or f"paused by {login.user.email}")
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/unpause")
def unpause(
    user_id: UserId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    unpause_rater(session, load_rater(session, user_id).id)
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/password")
def change_password(
    user_id: UserId,
    login: AdminLogin,
    session: SessionDep,
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    reset_password(session, user_id, password)
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/jobs")
def set_jobs(
    user_id: UserId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    job_id: Annotated[list[int] | None, Form()] = None,
    offered: Annotated[list[int] | None, Form()] = None,
) -> Response:
    check_csrf(login, csrf_token)
    set_rater_jobs(session, user_id, set(job_id or []), set(offered) if offered else None)
    return _back(f"/admin/raters/{user_id}")


@router.get("/jobs")
def jobs_page(
    request: Request, login: AdminLogin, session: SessionDep, human: bool = False
) -> Response:
    rows = admin_jobs(session, human_only=human)
    return render(request, "admin/jobs.html", {"login": login, "rows": rows, "human_only": human})


@router.get("/jobs/{job_id}")
def job_page(
    job_id: JobId,
    request: Request,
    login: AdminLogin,
    session: SessionDep,
    settings: SettingsDep,
    opened: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
) -> Response:
    setup = job_setup(session, job_id, settings)
    return render(
        request,
        "admin/job.html",
        {
            "login": login,
            "setup": setup,
            "job": setup.job,
            "human": setup.human,
            "scales": SCALES.values(),
            "default_lease_seconds": settings.lease_seconds,
            "default_too_fast_seconds": settings.too_fast_seconds,
            "quality": [(setup.job.id, figures) for figures in setup.quality],
            "bin_labels": TIME_BIN_LABELS,
            "max_guidelines": MAX_GUIDELINES_CHARS,
            "opened": opened,
        },
    )


@router.post("/jobs/{job_id}/settings")
def save_job_settings(
    job_id: JobId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    gold_rate: Annotated[float, Form(ge=0, le=1)] = 0.0,
    reason_required: Annotated[bool, Form()] = False,
    gold_accuracy_floor: Annotated[str, Form(max_length=20)] = "",
    gold_min_items: Annotated[int, Form(ge=1, le=100_000)] = 10,
    lease_seconds: Annotated[str, Form(max_length=20)] = "",
    too_fast_seconds: Annotated[str, Form(max_length=20)] = "",
    too_fast_share: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    job = load_job(session, job_id)
    message = "Floors and shares are numbers from 0 to 1; times are seconds."
    lease = _optional_number(lease_seconds, int, message)
    save_human_settings(
        session,
        job.id,
        gold_rate=gold_rate,
        reason_required=reason_required,
        gold_accuracy_floor=_optional_number(gold_accuracy_floor, float, message),
        gold_min_items=gold_min_items,
        lease_seconds=int(lease) if lease is not None else None,
        too_fast_seconds=_optional_number(too_fast_seconds, float, message),
        too_fast_share=_optional_number(too_fast_share, float, message),
    )
    return _back(f"/admin/jobs/{job.id}")


@router.post("/jobs/{job_id}/rating")
def save_rating_setup(
    job_id: JobId,
    login: AdminLogin,
    session: SessionDep,
    settings: SettingsDep,
    preference_scale: Annotated[ScaleName, Form()],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    guidelines: Annotated[str, Form(max_length=MAX_GUIDELINES_CHARS)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    job = load_job(session, job_id)
    changes = {"preference_scale": preference_scale, "guidelines": guidelines}
    update_job(session, login.user, job, changes, settings.job_priority_max)
    return _back(f"/admin/jobs/{job.id}")


@router.post("/jobs/{job_id}/access")
def change_access(
    job_id: JobId,
    login: AdminLogin,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "open",
    group: Annotated[str, Form(max_length=MAX_GROUP_CHARS)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    if action == "close":
        close_job(session, job_id)
        return _back(f"/admin/jobs/{job_id}")
    if action != "open":
        raise RequestError(422, "invalid_action", "Open the job to raters, or close it.")
    added = open_job(session, job_id, group.strip() or None)
    return _back(f"/admin/jobs/{job_id}?opened={added}")
