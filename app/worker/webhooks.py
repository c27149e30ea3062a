"""Sending the queued webhook calls of finished jobs (app/routing/webhooks.py) from the worker
loop: claimed under a lease (so two workers never send one call at once), signed, retried with
backoff, logged, and given up after `PREFARM_WEBHOOK_MAX_ATTEMPTS`.

A call counts as delivered on any 2xx answer. Redirects are not followed. Unless
`PREFARM_WEBHOOK_ALLOW_PRIVATE` is set, addresses that resolve to loopback, private, link-local
or reserved networks are refused (a researcher's URL must not reach the servers' own network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, bindparam, or_, select, update

from app.db.dialect import skip_locked
from app.db.models import Job, WebhookDelivery, table
from app.db.session import unit_of_work
from app.routing.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature

log = logging.getLogger("prefarm.webhooks")
LEASE_SECONDS = 120
CLAIM_LIMIT = 20


@dataclass(frozen=True)
class WebhookOptions:
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    allow_private: bool = False


@dataclass(frozen=True)
class DueCall:
    id: int
    job_id: int
    event: str
    url: str
    body: str
    secret: str
    attempts: int  # including this one


@dataclass(frozen=True)
class CallResult:
    call: DueCall
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim_due(engine: Engine, limit: int = CLAIM_LIMIT) -> list[DueCall]:
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        picked = skip_locked(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit),
            WebhookDelivery,
        )
        rows = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(picked))
            .values(
                attempts=WebhookDelivery.attempts + 1,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
            )
            .returning(
                WebhookDelivery.id,
                WebhookDelivery.job_id,
                WebhookDelivery.event,
                WebhookDelivery.url,
                WebhookDelivery.body,
                WebhookDelivery.attempts,
            )
        ).all()
        secrets = dict(
            session.execute(
                select(Job.id, Job.webhook_secret).where(Job.id.in_({r.job_id for r in rows}))
            ).all()
        )
    return [
        DueCall(r.id, r.job_id, r.event, r.url, r.body, secrets.get(r.job_id) or "", r.attempts)
        for r in rows
    ]


def has_due(engine: Engine) -> bool:
    """Whether a call waits to be sent now (`prefarm worker --until-idle` sends it first)."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        return (
            session.scalar(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .limit(1)
            )
            is not None
        )


def _refusal(url: str, allow_private: bool) -> str | None:
    """Why this URL may not be called, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http and https URLs with a host are called"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {parts.hostname}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return (
                f"{parts.hostname} resolves to the non-public address {address} "
                "(PREFARM_WEBHOOK_ALLOW_PRIVATE allows it)"
            )
    return None


async def send(client: httpx.AsyncClient, call: DueCall, options: WebhookOptions) -> CallResult:
    refusal = await asyncio.to_thread(_refusal, call.url, options.allow_private)
    if refusal is not None:
        return CallResult(call, None, refusal)
    body = call.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "prefarm-webhook",
        EVENT_HEADER: call.event,
        DELIVERY_HEADER: str(json.loads(call.body).get("delivery_id", call.id)),
        SIGNATURE_HEADER: signature(call.secret, body),
    }
    try:
        response = await client.post(
            call.url, content=body, headers=headers, timeout=options.timeout_seconds
        )
    except httpx.HTTPError as exc:
        return CallResult(call, None, f"{type(exc).__name__}: {exc}"[:500])
    error = None if response.is_success else f"HTTP {response.status_code}"
    return CallResult(call, response.status_code, error)


def record(engine: Engine, results: list[CallResult], options: WebhookOptions) -> None:
    """Store what each call answered: delivered, another attempt later, or given up."""
    now = datetime.now(UTC)
    rows = []
    for result in results:
        call = result.call
        if result.delivered:
            status, next_at = "delivered", now
            log.info("webhook of job %d delivered to %s", call.job_id, call.url)
        elif call.attempts >= options.max_attempts:
            status, next_at = "failed", now
            log.warning(
                "webhook of job %d to %s given up after %d attempts: %s",
                call.job_id,
                call.url,
                call.attempts,
                result.error,
            )
        else:
            delay = min(
                options.retry_max_seconds, options.retry_base_seconds * 2 ** (call.attempts - 1)
            )
            status, next_at = "pending", now + timedelta(seconds=delay)
            log.warning(
                "webhook of job %d to %s failed (attempt %d, next in %.0f s): %s",
                call.job_id,
                call.url,
                call.attempts,
                delay,
                result.error,
            )
        rows.append(
            {
                "delivery_id": call.id,
                "new_status": status,
                "next_at": next_at,
                "code": result.status_code,
                "error": result.error,
                "delivered": now if result.delivered else None,
            }
        )
    if not rows:
        return
    deliveries = table(WebhookDelivery)
    with unit_of_work(engine) as session:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("delivery_id"))
            .values(
                status=bindparam("new_status"),
                next_attempt_at=bindparam("next_at"),
                last_status_code=bindparam("code"),
                last_error=bindparam("error"),
                delivered_at=bindparam("delivered"),
                lease_until=None,
            ),
            rows,
        )


async def deliver_due(engine: Engine, client: httpx.AsyncClient, options: WebhookOptions) -> int:
    """Send every call due now (in claims of CLAIM_LIMIT); returns how many were tried."""
    tried = 0
    while True:
        calls = await asyncio.to_thread(claim_due, engine)
        if not calls:
            return tried
        results = await asyncio.gather(*(send(client, call, options) for call in calls))
        await asyncio.to_thread(record, engine, list(results), options)
        tried += len(calls)
