"""Jobs: create (idempotent), list, read with progress, pause / resume / cancel."""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.annotators.registry import unknown_names
from app.api.schemas import JobCreate, JobOut, JobPage, JobProgress, JobUpdate
from app.db.models import Annotation, Comparison, Job, Task, User
from app.http.deps import ApiUser, SessionDep, load_job
from app.http.errors import ApiError
from app.http.pagination import decode_cursor, encode_cursor
from app.routing.rerouting import reroute_untouched

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def progress(session: Session, job_id: int) -> JobProgress:
    by_status = dict(
        session.execute(
            select(Comparison.status, func.count())
            .where(Comparison.job_id == job_id)
            .group_by(Comparison.status)
        ).all()
    )
    tasks = dict(
        session.execute(
            select(Task.status, func.count()).where(Task.job_id == job_id).group_by(Task.status)
        ).all()
    )
    annotations = session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
    )
    return JobProgress(
        comparisons=sum(by_status.values()),
        comparisons_by_status=by_status,
        tasks_by_status=tasks,
        annotations=annotations or 0,
    )


def job_out(job: Job, owner_email: str, job_progress: JobProgress | None = None) -> JobOut:
    return JobOut(
        id=job.id,
        name=job.name,
        owner=owner_email,
        status=job.status,
        routing=job.routing,
        annotators=job.annotators,
        human_overlap=job.human_overlap,
        budget_usd=job.budget_usd,
        spent_usd=job.spent_usd,
        seed=job.seed,
        reference_generator=job.reference_generator,
        created_at=job.created_at,
        updated_at=job.updated_at,
        progress=job_progress,
    )


def _owner_email(session: Session, job: Job) -> str:
    return session.scalar(select(User.email).where(User.id == job.owner_id)) or ""


@router.post(
    "",
    status_code=201,
    response_model=JobOut,
    summary="Create a job",
    responses={200: {"description": "Replay of an earlier request with the same Idempotency-Key"}},
)
def create_job(
    body: JobCreate,
    user: ApiUser,
    session: SessionDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retrying with the same key returns the same job."),
    ] = None,
) -> JobOut:
    request_sha256 = hashlib.sha256(
        orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    if idempotency_key is not None:
        replay = _replay(session, user, idempotency_key, request_sha256, response)
        if replay is not None:
            return replay
    unknown = unknown_names(session, body.annotators)
    if unknown:
        raise ApiError(
            422,
            "unknown_annotators",
            "these annotators are not registered (GET /api/v1/annotators lists them)",
            {"unknown": unknown},
        )
    job = Job(
        owner_id=user.id,
        name=body.name,
        routing=body.routing.model_dump(exclude_none=True),
        annotators=body.annotators,
        human_overlap=body.human_overlap,
        budget_usd=body.budget_usd,
        seed=body.seed,
        reference_generator=body.reference_generator,
        status="active",
        idempotency_key=idempotency_key,
        request_sha256=request_sha256,
    )
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent request with the same key won the race
        replay = _replay(session, user, idempotency_key or "", request_sha256, response)
        if replay is None:
            raise
        return replay
    return job_out(job, user.email, progress(session, job.id))


def _replay(
    session: Session, user: User, key: str, request_sha256: str, response: Response
) -> JobOut | None:
    job = session.scalar(select(Job).where(Job.owner_id == user.id, Job.idempotency_key == key))
    if job is None:
        return None
    if job.request_sha256 != request_sha256:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used already for a different request body",
            {"job_id": job.id},
        )
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return job_out(job, user.email, progress(session, job.id))


@router.get("", response_model=JobPage, summary="List jobs (yours; all for admins)")
def list_jobs(
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> JobPage:
    query = select(Job, User.email).join(User, User.id == Job.owner_id)
    if user.role != "admin":
        query = query.where(Job.owner_id == user.id)
    rows = session.execute(
        query.where(Job.id > decode_cursor(after)).order_by(Job.id).limit(limit + 1)
    ).all()
    items = [job_out(job, email) for job, email in rows[:limit]]
    return JobPage(
        items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None
    )


@router.get("/{job_id}", response_model=JobOut, summary="Read a job with its progress counts")
def read_job(job_id: int, user: ApiUser, session: SessionDep) -> JobOut:
    job = load_job(session, user, job_id)
    return job_out(job, _owner_email(session, job), progress(session, job.id))


@router.patch("/{job_id}", response_model=JobOut, summary="Pause, resume, cancel or edit a job")
def update_job(job_id: int, body: JobUpdate, user: ApiUser, session: SessionDep) -> JobOut:
    job = load_job(session, user, job_id, for_update=True)
    if job.status == "cancelled" and body.model_fields_set - {"name"}:
        raise ApiError(409, "job_cancelled", f"job {job.id} is cancelled; only its name can change")
    if body.name is not None:
        job.name = body.name
    if body.routing is not None:
        job.routing = body.routing.model_dump(exclude_none=True)
        reroute_untouched(session, job)
    if "budget_usd" in body.model_fields_set:
        job.budget_usd = body.budget_usd
        over_budget = job.budget_usd is not None and job.spent_usd >= job.budget_usd
        if job.status == "budget_exhausted" and not over_budget:
            job.status = "active"
    if body.status is not None:
        _change_status(job, body.status)
    session.commit()
    return job_out(job, _owner_email(session, job), progress(session, job.id))


def _change_status(job: Job, status: str) -> None:
    still_over = job.budget_usd is not None and job.spent_usd >= job.budget_usd
    if status == "active" and job.status == "budget_exhausted" and still_over:
        raise ApiError(
            409,
            "budget_exhausted",
            "raise budget_usd to resume this job",
            {"spent_usd": job.spent_usd, "budget_usd": job.budget_usd},
        )
    if status == "active" and job.status == "done":
        return
    job.status = status
