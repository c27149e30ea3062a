"""Admin pages: raters (create, pause, reset password, job access), their quality, job settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.accounts.secrets import hash_password
from app.accounts.service import AccountError, create_user
from app.db.models import Annotation, Annotator, Job, RaterJob, User
from app.rating.quality import job_quality, pause_rater, unpause_rater
from app.rating.settings import human_settings, save_human_settings
from app.web.deps import AdminLogin, SessionDep, SettingsDep, check_csrf
from app.web.errors import WebError
from app.web.sessions import end_all_sessions
from app.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

MIN_PASSWORD = 8


def _rater(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or user.role != "rater":
        raise WebError(404, f"There is no rater {user_id}.")
    return user


def _job(db: Session, job_id: int) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise WebError(404, f"There is no job {job_id}.")
    return job


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WebError(422, f"Passwords need at least {MIN_PASSWORD} characters.")


@router.get("")
def admin_home(_login: AdminLogin) -> Response:
    return _back("/admin/raters")


@router.get("/raters")
def raters_page(request: Request, login: AdminLogin, db: SessionDep) -> Response:
    judgments = dict(
        db.execute(
            select(Annotator.user_id, func.count(Annotation.id))
            .join(Annotation, Annotation.annotator_id == Annotator.id)
            .where(Annotator.kind == "human")
            .group_by(Annotator.user_id)
        ).all()
    )
    jobs_allowed = dict(
        db.execute(select(RaterJob.user_id, func.count()).group_by(RaterJob.user_id)).all()
    )
    raters = db.scalars(select(User).where(User.role == "rater").order_by(User.email)).all()
    return render(
        request,
        "admin/raters.html",
        {"login": login, "raters": raters, "judgments": judgments, "jobs_allowed": jobs_allowed},
    )


@router.post("/raters")
def create_rater(
    login: AdminLogin,
    db: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    _check_password(password)
    try:
        user = create_user(db, email, "rater", password)
    except AccountError as error:
        raise WebError(422, str(error)) from error
    db.commit()
    return _back(f"/admin/raters/{user.id}")


@router.get("/raters/{user_id}")
def rater_page(
    user_id: int, request: Request, login: AdminLogin, db: SessionDep, settings: SettingsDep
) -> Response:
    rater = _rater(db, user_id)
    allowed = set(db.scalars(select(RaterJob.job_id).where(RaterJob.user_id == rater.id)))
    jobs = db.scalars(select(Job).order_by(Job.id)).all()
    judged_jobs = db.scalars(
        select(Annotation.job_id)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .where(Annotator.user_id == rater.id)
        .distinct()
    ).all()
    quality = [
        (job_id, figures)
        for job_id in sorted(judged_jobs)
        for figures in job_quality(db, job_id, settings.too_fast_seconds, user_id=rater.id)
    ]
    return render(
        request,
        "admin/rater.html",
        {
            "login": login,
            "rater": rater,
            "jobs": jobs,
            "allowed": allowed,
            "quality": quality,
            "too_fast_seconds": settings.too_fast_seconds,
        },
    )


@router.post("/raters/{user_id}/pause")
def pause(
    user_id: int,
    login: AdminLogin,
    db: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    rater = _rater(db, user_id)
    pause_rater(db, rater, reason.strip() or f"paused by {login.user.email}")
    db.commit()
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/unpause")
def unpause(
    user_id: int,
    login: AdminLogin,
    db: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    unpause_rater(_rater(db, user_id))
    db.commit()
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/password")
def reset_password(
    user_id: int,
    login: AdminLogin,
    db: SessionDep,
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    _check_password(password)
    rater = _rater(db, user_id)
    rater.password_hash = hash_password(password)
    end_all_sessions(db, rater.id)  # a reset logs the rater out everywhere
    db.commit()
    return _back(f"/admin/raters/{user_id}")


@router.post("/raters/{user_id}/jobs")
def set_jobs(
    user_id: int,
    login: AdminLogin,
    db: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    job_id: Annotated[list[int] | None, Form()] = None,
) -> Response:
    check_csrf(login, csrf_token)
    rater = _rater(db, user_id)
    job_ids = set(job_id or [])
    existing = set(db.scalars(select(Job.id).where(Job.id.in_(job_ids)))) if job_ids else set()
    if existing != job_ids:
        raise WebError(422, f"Unknown jobs: {sorted(job_ids - existing)}")
    db.execute(delete(RaterJob).where(RaterJob.user_id == rater.id))
    db.add_all(RaterJob(user_id=rater.id, job_id=job) for job in sorted(job_ids))
    db.commit()
    return _back(f"/admin/raters/{user_id}")


@router.get("/jobs")
def jobs_page(request: Request, login: AdminLogin, db: SessionDep) -> Response:
    jobs = db.scalars(select(Job).order_by(Job.id)).all()
    return render(request, "admin/jobs.html", {"login": login, "jobs": jobs})


@router.get("/jobs/{job_id}")
def job_page(
    job_id: int, request: Request, login: AdminLogin, db: SessionDep, settings: SettingsDep
) -> Response:
    job = _job(db, job_id)
    return render(
        request,
        "admin/job.html",
        {
            "login": login,
            "job": job,
            "human": human_settings(db, job.id, settings),
            "default_lease_seconds": settings.lease_seconds,
            "quality": [(job.id, q) for q in job_quality(db, job.id, settings.too_fast_seconds)],
            "too_fast_seconds": settings.too_fast_seconds,
        },
    )


@router.post("/jobs/{job_id}/settings")
def save_job_settings(
    job_id: int,
    login: AdminLogin,
    db: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    gold_rate: Annotated[float, Form(ge=0, le=1)] = 0.0,
    reason_required: Annotated[bool, Form()] = False,
    gold_accuracy_floor: Annotated[str, Form(max_length=20)] = "",
    gold_min_items: Annotated[int, Form(ge=1, le=100_000)] = 10,
    lease_seconds: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(login, csrf_token)
    job = _job(db, job_id)
    try:
        floor = float(gold_accuracy_floor) if gold_accuracy_floor.strip() else None
        lease = int(lease_seconds) if lease_seconds.strip() else None
    except ValueError as error:
        raise WebError(422, "The floor is a number from 0 to 1; the lease is seconds.") from error
    if floor is not None and not 0 <= floor <= 1:
        raise WebError(422, "The gold accuracy floor is a number from 0 to 1.")
    if lease is not None and lease < 10:
        raise WebError(422, "Leases last at least 10 seconds.")
    save_human_settings(
        db,
        job.id,
        gold_rate=gold_rate,
        reason_required=reason_required,
        gold_accuracy_floor=floor,
        gold_min_items=gold_min_items,
        lease_seconds=lease,
    )
    db.commit()
    return _back(f"/admin/jobs/{job.id}")
