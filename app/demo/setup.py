"""The demo's accounts and jobs. Running it again reuses what is there (passwords and the API
token are renewed, since only their hashes are stored and they cannot be shown again)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from prefarm_client import PrefarmClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.accounts.secrets import hash_password
from app.accounts.service import create_token, create_user
from app.db.models import ApiToken, RaterJob, User
from app.db.session import unit_of_work

DEMO_TOKEN_NAME = "prefarm demo"
ACCOUNTS = (
    ("admin", "admin@example.org"),
    ("researcher", "researcher@example.org"),
    ("rater", "rater1@example.org"),
    ("rater", "rater2@example.org"),
)
BASELINE_JOB: dict[str, Any] = {
    "name": "Demo: three small models, judged by the `longest` baseline",
    "annotators": ["longest"],
    "routing": "simulated",
    "seed": 7,
    "reference_generator": "micro-70b",
    "idempotency_key": "prefarm-demo-baseline-v1",
}
HUMAN_JOB: dict[str, Any] = {
    "name": "Demo: the same pairs for human raters",
    "routing": "human",
    "human_overlap": 2,
    "seed": 7,
    "reference_generator": "micro-70b",
    "idempotency_key": "prefarm-demo-human-v1",
}
HUMAN_JOB_SIZE = 12
# Multi-turn comparisons written for prefarm's demo, judged by `longest` and by both raters.
CONVERSATION_JOB: dict[str, Any] = {
    "name": "Demo: conversations, the assistant's next turn",
    "annotators": ["longest"],
    "routing": {"policy": "mixed", "calibration_fraction": 1.0},
    "seed": 7,
    "idempotency_key": "prefarm-demo-conversations-v1",
}
# With a provider key in the environment, a third job is judged by a real LLM (a few cents).
LLM_JUDGES = (("OPENAI_API_KEY", "openai_json"), ("ANTHROPIC_API_KEY", "anthropic_json"))
LLM_BUDGET_USD = 1.0


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoAccounts:
    logins: list[Login]
    researcher_token: str


@dataclass(frozen=True)
class DemoJobs:
    baseline: dict[str, Any]
    human: dict[str, Any]
    conversations: dict[str, Any]
    llm: dict[str, Any] | None = None


def _sample(name: str) -> list[dict[str, Any]]:
    text = resources.files("app.demo").joinpath(name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sample_comparisons() -> list[dict[str, Any]]:
    """40 comparisons written for prefarm's demo (answers of three made-up models)."""
    return _sample("sample_comparisons.jsonl")


def sample_conversations() -> list[dict[str, Any]]:
    """12 multi-turn comparisons written for prefarm (a system message in some, a candidate of
    several messages in one), each with a gold preference."""
    return _sample("sample_conversations.jsonl")


def ensure_accounts(engine: Engine) -> DemoAccounts:
    """An admin, a researcher and two raters with fresh passwords; a fresh researcher token."""
    logins = []
    with unit_of_work(engine) as session:
        for role, email in ACCOUNTS:
            password = secrets.token_urlsafe(9)
            user = session.scalar(select(User).where(User.email == email))
            if user is None:
                create_user(session, email, role, password)
            else:
                user.password_hash = hash_password(password)
                user.active = True
            logins.append(Login(role, email, password))
        researcher = session.scalar(select(User).where(User.email == "researcher@example.org"))
        assert researcher is not None
        _revoke_old_demo_tokens(session, researcher.id)
        token = create_token(session, researcher, DEMO_TOKEN_NAME)
    return DemoAccounts(logins, token)


def _revoke_old_demo_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.name == DEMO_TOKEN_NAME,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )


def llm_judge() -> str | None:
    """The annotator of the LLM job: the first provider whose API key is set, if any."""
    return next((name for key, name in LLM_JUDGES if os.environ.get(key)), None)


def load_jobs(client: PrefarmClient) -> DemoJobs:
    """The demo jobs through the API, as a researcher would make them (idempotent)."""
    rows = sample_comparisons()
    baseline = client.create_job(**BASELINE_JOB)
    client.submit_comparisons(baseline["id"], rows)
    human = client.create_job(**HUMAN_JOB)
    client.submit_comparisons(human["id"], rows[:HUMAN_JOB_SIZE])
    conversations = client.create_job(**CONVERSATION_JOB)
    client.submit_comparisons(conversations["id"], sample_conversations())
    llm = None
    judge = llm_judge()
    if judge is not None:
        llm = client.create_job(
            f"Demo: the same pairs judged by {judge}",
            annotators=[judge],
            budget_usd=LLM_BUDGET_USD,
            seed=7,
            reference_generator="micro-70b",
            idempotency_key=f"prefarm-demo-{judge}-v1",
        )
        client.submit_comparisons(llm["id"], rows)
        llm = client.get_job(llm["id"])
    return DemoJobs(
        client.get_job(baseline["id"]),
        client.get_job(human["id"]),
        client.get_job(conversations["id"]),
        llm,
    )


def let_raters_rate(engine: Engine, job_id: int) -> None:
    """Give every demo rater the human job (an admin does this on /admin/raters otherwise)."""
    with unit_of_work(engine) as session:
        raters = session.scalars(
            select(User.id).where(User.email.in_([e for r, e in ACCOUNTS if r == "rater"]))
        ).all()
        granted = set(
            session.scalars(select(RaterJob.user_id).where(RaterJob.job_id == job_id)).all()
        )
        session.add_all(RaterJob(user_id=u, job_id=job_id) for u in raters if u not in granted)
