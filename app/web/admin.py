"""Admin pages: raters (create, pause, reset password, job access), their quality, job settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.db.models import Job
from app.errors import RequestError
from app.http.deps import AdminLogin, SessionDep, SettingsDep, check_csrf
from app.http.pages import render
from app.http.params import JobId, UserId
from app.rating.quality import job_quality, pause_rater, unpause_rater
from app.rating.raters import (
    add_rater,
    load_job,
    load_rater,
    rater_detail,
    reset_password,
    roster,
    set_rater_jobs,
)
from app.rating.settings import human_settings, save_human_settings

router = APIRouter(prefix="/admin", include_in_schema=False)


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@router.get("")
def admin_home(_login: AdminLogin) -> Response:
    return _back("/admin/raters")


@router.get("/raters")
def raters_page(request: Request, login: AdminLogin, session: SessionDep) -> Response:
    overview = roster(session)
    return render(
        request,
        "admin/raters.html",
        {
            "login": login,
            "raters": overview.raters,
            "judgments": overview.judgments,
            "jobs_allowed": overview.jobs_allowed,
        },
    )


@router.post("/raters")
def create_rater(
    login: AdminLogin,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    user = add_rater(session, email, password)
    return _back(f"/admin/raters/{user.id}")


@router.get("/raters/{user_id}")
def rater_page(
    user_id: UserId,
    request: Request,
    login: AdminLogin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    detail = rater_detail(session, user_id, settings.too_fast_seconds)
    return render(
        request,
        "admin/rater.html",
        {
            "login": login,
            "rater": detail.rater,
            "jobs": detail.jobs,
            "allowed": detail.allowed,
            "quality": detail.quality,
            "too_fast_seconds": settings.too_fast_seconds,
        },
    )


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
) -> Response:
    check_csrf(login, csrf_token)
    set_rater_jobs(session, user_id, set(job_id or []))
    return _back(f"/admin/raters/{user_id}")


@router.get("/jobs")
def jobs_page(request: Request, login: AdminLogin, session: SessionDep) -> Response:
    jobs = session.scalars(select(Job).order_by(Job.id)).all()
    return render(request, "admin/jobs.html", {"login": login, "jobs": jobs})


@router.get("/jobs/{job_id}")
def job_page(
    job_id: JobId,
    request: Request,
    login: AdminLogin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    job = load_job(session, job_id)
    quality = job_quality(session, job.id, settings.too_fast_seconds)
    return render(
        request,
        "admin/job.html",
        {
            "login": login,
            "job": job,
            "human": human_settings(session, job.id, settings),
            "default_lease_seconds": settings.lease_seconds,
            "quality": [(job.id, figures) for figures in quality],
            "too_fast_seconds": settings.too_fast_seconds,
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
) -> Response:
    check_csrf(login, csrf_token)
    job = load_job(session, job_id)
    try:
        floor = float(gold_accuracy_floor) if gold_accuracy_floor.strip() else None
        lease = int(lease_seconds) if lease_seconds.strip() else None
    except ValueError as error:
        raise RequestError(
            422, "invalid_setting", "The floor is a number from 0 to 1; the lease is seconds."
        ) from error
    save_human_settings(
        session,
        job.id,
        gold_rate=gold_rate,
        reason_required=reason_required,
        gold_accuracy_floor=floor,
        gold_min_items=gold_min_items,
        lease_seconds=lease,
    )
    return _back(f"/admin/jobs/{job.id}")
