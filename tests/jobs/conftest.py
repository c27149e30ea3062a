"""Fixtures of the job lifecycle tests: a worker that may call local webhooks, a receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from app.worker.runner import Worker, WorkerOptions, run_until_idle
from app.worker.webhooks import WebhookOptions
from tests.fakes.fixtures import job_state, post_comparisons  # noqa: F401
from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    webhook_receiver = WebhookReceiver()
    webhook_receiver.start()
    yield webhook_receiver
    webhook_receiver.stop()


@pytest.fixture
def run_worker(engine: Engine) -> Callable[..., Worker]:
    """One in-test worker until nothing is left to claim or send; webhooks to 127.0.0.1 are
    allowed and retried at once."""

    def run(**webhooks: Any) -> Worker:
        options = WorkerOptions(
            concurrency=8,
            claim_batch=50,
            lease_seconds=30,
            poll_seconds=0.05,
            retry_base_seconds=0.0,
            shutdown_grace_seconds=5,
            webhooks=WebhookOptions(
                **{
                    "allow_private": True,
                    "retry_base_seconds": 0.0,
                    "timeout_seconds": 5,
                    **webhooks,
                }
            ),
        )
        return run_until_idle(engine, options)

    return run


def pairs(count: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{n}",
            "instruction": f"Question {n}?",
            "output_1": "Short.",
            "output_2": f"A longer answer to question {n}.",
        }
        for n in range(count)
    ]
