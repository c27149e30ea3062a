"""Jobs: create (idempotent), list, read with counts, pause / resume / cancel / edit, delete
an empty one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.responses import COMMON_RESPONSES, JOB_RESPONSES, responses
from app.api.schemas import (
    GuidelinesOut,
    GuidelinesVersionOut,
    JobCreate,
    JobOut,
    JobPage,
    JobProgress,
    JobUpdate,
)
from app.db.models import Job, User
from app.db.paging import keyset_page
from app.db.values import INT32_MAX
from app.http.deps import ApiUser, SessionDep, SettingsDep
from app.http.pagination import AfterCursor, decode_cursor, page_cursor
from app.http.params import JobId
from app.jobs.access import load_visible_job, visible_jobs
from app.jobs.counts import job_counts
from app.jobs.lifecycle import create_job, delete_empty_job, update_job
from app.jobs.rating_setup import guidelines_history

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=COMMON_RESPONSES)


def job_out(
    job: Job, owner_email: str, counts: JobProgress | None = None, *, with_secret: bool = False
) -> JobOut:
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
        priority=job.priority,
        preference_scale=job.preference_scale,
        guidelines_version=job.guidelines_version,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        webhook_url=job.webhook_url,
        webhook_secret=job.webhook_secret if with_secret else None,
        progress=counts,
    )


def _with_counts(session: Session, job: Job, *, with_secret: bool = False) -> JobOut:
    owner = session.scalar(select(User.email).where(User.id == job.owner_id)) or ""
    counts = job_counts(session, job.id)
    return job_out(
        job,
        owner,
        JobProgress.model_validate(counts, from_attributes=True),
        with_secret=with_secret,
    )


@router.post(
    "",
    status_code=201,
    response_model=JobOut,
    summary="Create a job",
    responses={
        200: {
            "description": "Replay of an earlier request with the same Idempotency-Key",
            "model": JobOut,
        },
        **responses(
            400,
            409,
            422,
            s409="the Idempotency-Key was used for another body (`idempotency_key_reused`)",
            s422="a field out of range or unknown, or unknown annotator names "
            "(`unknown_annotators`: `details.unknown` and `details.known`)",
        ),
    },
)
def create(
    body: JobCreate,
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retrying with the same key returns the same job."),
    ] = None,
) -> JobOut:
    created = create_job(
        session, user, body.model_dump(mode="json"), idempotency_key, settings.job_priority_max
    )
    session.flush()
    if created.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _with_counts(session, created.job, with_secret=True)


@router.get(
    "",
    response_model=JobPage,
    summary="List jobs (yours; all for admins)",
    responses=responses(400),
)
def list_jobs(
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: AfterCursor = None,
) -> JobPage:
    rows = session.execute(
        visible_jobs(user)
        .add_columns(User.email)
        .join(User, User.id == Job.owner_id)
        .where(Job.id > decode_cursor(after, INT32_MAX))
        .order_by(Job.id)
        .limit(limit + 1)
    ).all()
    page = keyset_page(rows, limit, lambda row: row[0].id)
    return JobPage(
        items=[job_out(job, email) for job, email in page.items],
        next_cursor=page_cursor(page),
    )


@router.get(
    "/{job_id}",
    response_model=JobOut,
    summary="Read a job with its progress counts",
    responses=responses(404),
)
def read_job(job_id: JobId, user: ApiUser, session: SessionDep) -> JobOut:
    return _with_counts(session, load_visible_job(session, user, job_id))


@router.patch(
    "/{job_id}",
    response_model=JobOut,
    summary="Pause, resume, cancel or edit a job",
    responses={
        **JOB_RESPONSES,
        **responses(
            400,
            403,
            409,
            s403="a priority above what a job owner may set (`priority_too_high`)",
            s409="the job is cancelled, resumed while over budget (`budget_exhausted`), or its "
            "preference scale is locked (`scale_locked`)",
        ),
    },
)
def change_job(
    job_id: JobId, body: JobUpdate, user: ApiUser, session: SessionDep, settings: SettingsDep
) -> JobOut:
    job = load_visible_job(session, user, job_id, for_update=True)
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    update_job(session, user, job, changes, settings.job_priority_max)
    session.flush()
    return _with_counts(session, job, with_secret=bool(changes.get("webhook_url")))


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a job that has no comparisons yet",
    description="For a job whose first upload was refused. A job with comparisons or "
    "judgments is a 409 `job_not_empty`: cancel it instead.",
    responses={**JOB_RESPONSES, **responses(409, s409="the job has comparisons or judgments")},
)
def delete_job(job_id: JobId, user: ApiUser, session: SessionDep) -> Response:
    delete_empty_job(session, load_visible_job(session, user, job_id, for_update=True))
    return Response(status_code=204)


@router.get(
    "/{job_id}/guidelines",
    response_model=GuidelinesOut,
    summary="A job's rating guidelines: the current text and every version",
    responses=responses(404),
)
def read_guidelines(job_id: JobId, user: ApiUser, session: SessionDep) -> GuidelinesOut:
    job = load_visible_job(session, user, job_id)
    versions = guidelines_history(session, job.id)
    current = next((v.text for v in versions if v.version == job.guidelines_version), "")
    return GuidelinesOut(
        current_version=job.guidelines_version,
        text=current,
        versions=[GuidelinesVersionOut(**vars(version)) for version in versions],
    )
