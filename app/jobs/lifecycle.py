"""Creating a job (idempotently), changing it (pause, resume, cancel, budget, name, routing,
webhook) and deleting an empty one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from app.accounts.identity import Account
from app.annotators.registry import list_configs, unknown_names
from app.db.dialect import insert_ignoring_conflicts
from app.db.models import DEFAULT_JOB_PRIORITY, Annotation, Comparison, Job, Task
from app.db.scales import DEFAULT_SCALE
from app.db.session import changed_rows
from app.errors import RequestError
from app.jobs.rating_setup import set_guidelines, set_preference_scale
from app.routing.completion import settle_jobs
from app.routing.rerouting import reroute_untouched
from app.routing.webhooks import new_webhook_secret

# How many registered names an unknown-annotator error lists.
KNOWN_NAMES_SHOWN = 200

# The fields a researcher gives when creating a job (the API's JobCreate, dumped).
JobFields = dict[str, Any]


@dataclass(frozen=True)
class CreatedJob:
    job: Job
    replayed: bool  # an earlier request with the same Idempotency-Key made it


def request_sha256(fields: JobFields) -> str:
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def check_priority(account: Account, priority: int, owner_limit: int) -> None:
    """Owners may weight their jobs up to `owner_limit` (PREFARM_JOB_PRIORITY_MAX); only admins
    may go above it, up to the schema's MAX_JOB_PRIORITY."""
    if priority > owner_limit and not account.is_admin:
        raise RequestError(
            403,
            "priority_too_high",
            f"priority {priority} is above {owner_limit}, the most a job owner may set; "
            "ask an admin for more",
            {"max": owner_limit},
        )


def create_job(
    session: Session,
    owner: Account,
    fields: JobFields,
    idempotency_key: str | None,
    priority_limit: int,
) -> CreatedJob:
    """A new job, or the one an earlier request with the same key and body made (a key reused
    with another body is a 409)."""
    body_sha256 = request_sha256(fields)
    if idempotency_key is not None:
        earlier = _replay(session, owner, idempotency_key, body_sha256)
        if earlier is not None:
            return CreatedJob(earlier, replayed=True)
    priority = fields.get("priority", DEFAULT_JOB_PRIORITY)
    check_priority(owner, priority, priority_limit)
    _check_annotators(session, fields.get("annotators", []))
    webhook_url = fields.get("webhook_url")
    values = {
        "owner_id": owner.id,
        "name": fields["name"],
        "routing": {k: v for k, v in fields.get("routing", {}).items() if v is not None},
        "annotators": fields.get("annotators", []),
        "human_overlap": fields.get("human_overlap", 1),
        "budget_usd": fields.get("budget_usd"),
        "seed": fields.get("seed", 0),
        "reference_generator": fields.get("reference_generator"),
        "priority": priority,
        "preference_scale": fields.get("preference_scale") or DEFAULT_SCALE,
        "status": "active",
        "idempotency_key": idempotency_key,
        "request_sha256": body_sha256,
        "webhook_url": webhook_url,
        "webhook_secret": new_webhook_secret() if webhook_url else None,
    }
    job = session.scalar(insert_ignoring_conflicts(session, Job).values(values).returning(Job))
    if job is None:  # a concurrent request with the same key won the race: answer with its job
        earlier = _replay(session, owner, idempotency_key or "", body_sha256)
        assert earlier is not None
        return CreatedJob(earlier, replayed=True)
    if fields.get("guidelines"):
        set_guidelines(session, job, fields["guidelines"], owner.id)
    return CreatedJob(job, replayed=False)


def _check_annotators(session: Session, names: list[str]) -> None:
    """Refuse unknown names, naming each of them and listing the registered ones."""
    unknown = unknown_names(session, names)
    if not unknown:
        return
    known = [config.name for config, _, _ in list_configs(session)]
    shown = known[:KNOWN_NAMES_SHOWN]
    more = f" and {len(known) - len(shown)} more" if len(known) > len(shown) else ""
    raise RequestError(
        422,
        "unknown_annotators",
        f"unknown annotator{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
        f"Registered: {', '.join(shown)}{more} (GET /api/v1/annotators)",
        {"unknown": unknown, "known": shown},
    )


def _replay(session: Session, owner: Account, key: str, body_sha256: str) -> Job | None:
    job = session.scalar(select(Job).where(Job.owner_id == owner.id, Job.idempotency_key == key))
    if job is not None and job.request_sha256 != body_sha256:
        raise RequestError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used already for a different request body",
            {"job_id": job.id},
        )
    return job


def update_job(
    session: Session,
    account: Account,
    job: Job,
    changes: JobFields,
    priority_limit: int,
) -> None:
    """Apply the given changes (keys present are set; `routing` re-routes untouched work;
    `guidelines` makes a new version by this account when the text changed)."""
    if job.status == "cancelled" and set(changes) - {"name"}:
        raise RequestError(
            409, "job_cancelled", f"job {job.id} is cancelled; only its name can change"
        )
    if changes.get("name") is not None:
        job.name = changes["name"]
    if changes.get("routing") is not None:
        job.routing = {k: v for k, v in changes["routing"].items() if v is not None}
        reroute_untouched(session, job)
    if "budget_usd" in changes:
        job.budget_usd = changes["budget_usd"]
        if job.status == "budget_exhausted" and not job.over_budget:
            job.status = "active"
    if changes.get("priority") is not None:
        check_priority(account, changes["priority"], priority_limit)
        job.priority = changes["priority"]
    if changes.get("preference_scale") is not None:
        set_preference_scale(session, job, changes["preference_scale"])
    if changes.get("guidelines") is not None:
        set_guidelines(session, job, changes["guidelines"], account.id)
    if "webhook_url" in changes:
        job.webhook_url = changes["webhook_url"]
        job.webhook_secret = new_webhook_secret() if changes["webhook_url"] else None
    if changes.get("status") is not None:
        _change_status(job, changes["status"])
        if job.status == "cancelled":
            cancel_queued_tasks(session, job.id)
    if job.status == "active":
        session.flush()
        settle_jobs(session, [job.id])  # resumed with nothing left to do: done


def cancel_queued_tasks(session: Session, job_id: int) -> int:
    """A cancelled job's waiting tasks are never run: they become `cancelled` and leave the
    queue. Tasks running now finish (their calls are paid for) or, if given back, are cancelled
    then (app.worker.store)."""
    return changed_rows(
        session.execute(
            update(Task)
            .where(Task.job_id == job_id, Task.status == "queued")
            .values(status="cancelled", not_before=None)
            .execution_options(synchronize_session=False)
        )
    )


def delete_empty_job(session: Session, job: Job) -> None:
    """Delete a job that holds no comparison and no judgment (e.g. one whose first upload was
    refused); any other job is a 409: cancel it instead."""
    has_work = session.scalar(
        select(
            exists().where(Comparison.job_id == job.id)
            | exists().where(Annotation.job_id == job.id)
        )
    )
    if has_work:
        raise RequestError(
            409,
            "job_not_empty",
            f"job {job.id} has comparisons; only an empty job can be deleted (cancel it instead)",
        )
    session.execute(delete(Job).where(Job.id == job.id))


def _change_status(job: Job, status: str) -> None:
    if status == "active" and job.status == "budget_exhausted" and job.over_budget:
        raise RequestError(
            409,
            "budget_exhausted",
            "raise budget_usd to resume this job",
            {"spent_usd": job.spent_usd, "budget_usd": job.budget_usd},
        )
    if status == "active" and job.status == "done":
        return  # done stays done until it has work again (app/routing/completion.py)
    job.status = status
