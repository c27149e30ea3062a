"""A job's webhook: the call queued when the job is done, and how its body is signed.

The call is stored (`webhook_deliveries`) in the transaction that finished the job and sent
later by a worker (app/worker/webhooks.py), so it is never lost to a restart and never slows
the request or the worker write that finished the job. The body is fixed when it is queued;
every attempt sends the same bytes with the same signature:

    X-Prefarm-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the job's secret>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Annotation, Comparison, Job, WebhookDelivery

SIGNATURE_HEADER = "X-Prefarm-Signature"
EVENT_HEADER = "X-Prefarm-Event"
DELIVERY_HEADER = "X-Prefarm-Delivery"
JOB_DONE = "job.done"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue_job_done(session: Session, job_id: int) -> None:
    """Queue the `job.done` call of a job that has a webhook (a no-op for those that do not)."""
    job = session.execute(
        select(Job.id, Job.name, Job.status, Job.finished_at, Job.spent_usd, Job.webhook_url).where(
            Job.id == job_id
        )
    ).one()
    if not job.webhook_url:
        return
    by_status = dict(
        session.execute(
            select(Comparison.status, func.count())
            .where(Comparison.job_id == job_id)
            .group_by(Comparison.status)
        ).all()
    )
    judgments = session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
    )
    delivery_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    body = {
        "event": JOB_DONE,
        "delivery_id": delivery_id,
        "job": {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "finished_at": (job.finished_at or now).isoformat(),
            "comparisons": sum(by_status.values()),
            "comparisons_by_status": by_status,
            "annotations": judgments or 0,
            "spent_usd": job.spent_usd,
        },
    }
    session.add(
        WebhookDelivery(
            job_id=job_id,
            event=JOB_DONE,
            url=job.webhook_url,
            body=json.dumps(body, sort_keys=True),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
