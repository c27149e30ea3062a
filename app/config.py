"""Settings read from `PREFARM_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PREFARM_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./prefarm.db",
        description="SQLAlchemy URL; `postgresql+psycopg://user@host/db` selects PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024, description="Largest request body accepted, in bytes."
    )
    max_batch_rows: int = Field(default=100_000, description="Most rows in one bulk request.")
    max_conversation_messages: int = Field(
        default=200,
        ge=1,
        description="Most messages in a comparison's conversation (or in a "
        "multi-message candidate).",
    )
    max_conversation_chars: int = Field(
        default=1_000_000,
        ge=1,
        description="Most characters of content in a conversation, all turns together.",
    )
    log_level: str = "info"
    # Simulated annotators and workers (app/annotators, app/worker).
    inprocess_worker: bool | None = Field(
        default=None,
        description="Run one worker inside the API server; unset means: on for SQLite only.",
    )
    worker_concurrency: int = Field(
        default=64, ge=1, le=4096, description="Provider calls in flight per worker process."
    )
    worker_claim_batch: int = Field(default=64, ge=1, le=1000, description="Tasks per claim.")
    worker_lease_seconds: float = Field(
        default=60,
        ge=1,
        description="A claimed task returns to the queue this long after its "
        "worker stops renewing it (e.g. was killed).",
    )
    worker_poll_seconds: float = Field(default=0.5, gt=0, description="Idle wait between claims.")
    worker_retry_base_seconds: float = Field(
        default=1.0, ge=0, description="First retry delay; doubles per attempt, with jitter."
    )
    worker_retry_max_seconds: float = Field(default=300, ge=0)
    worker_shutdown_grace_seconds: float = Field(
        default=30, ge=0, description="On SIGTERM, how long running calls may finish."
    )
    worker_log_summary_seconds: float = Field(
        default=60, gt=0, description="A worker logs a summary line this often (info)."
    )
    # Shared use: fair queues, bounded work, proxies (app/worker/store.py, app/annotators,
    # app/server.py).
    job_priority_max: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Highest job priority an owner may set; admins may set up to 1000.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of the proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed; empty: no one's.",
    )
    template_max_output_chars: int = Field(
        default=2_000_000,
        ge=1000,
        description="Longest prompt (and longest value) a prompt template may produce.",
    )
    template_max_loop_iterations: int = Field(
        default=100_000, ge=1, description="Loop steps, all loops together, per render."
    )
    template_max_seconds: float = Field(
        default=1.0, gt=0, description="Wall-clock time one render of a prompt may take."
    )
    # Job lifecycle: webhooks called when a job is done (app/routing/webhooks.py, sent by the
    # workers in app/worker/webhooks.py) and worker heartbeats (app/worker/heartbeat.py).
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="How long one webhook call may take."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Calls of one webhook before it is given up."
    )
    webhook_retry_base_seconds: float = Field(
        default=30, ge=0, description="Wait before the second call; doubles per attempt."
    )
    webhook_retry_max_seconds: float = Field(default=3600, ge=0)
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks call loopback, private and link-local addresses.",
    )
    # Who may register annotator configs that name a server or a key (app/api/annotators.py):
    # admins always; researchers only for these comma-separated URL prefixes / variable names.
    researcher_base_urls: str = Field(
        default="",
        description="URL prefixes researchers may use as a config's base_url, comma-separated.",
    )
    researcher_api_key_envs: str = Field(
        default="",
        description="Variable names researchers may use as a config's api_key_env, "
        "comma-separated.",
    )
    # Observability (app/observability, app/http/observability.py, app/api/metrics.py).
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="`json` (one object a line, with request ids), `text`, or `auto`: "
        "text when stderr is a terminal, else JSON. The same for every prefarm command.",
    )
    metrics_token: str | None = Field(
        default=None, description="If set, GET /metrics needs `Authorization: Bearer <it>`."
    )
    metrics_admin_only: bool = Field(
        default=False,
        description="GET /metrics needs an admin's API token (or PREFARM_METRICS_TOKEN).",
    )
    metrics_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long /metrics reuses its database counts."
    )
    # Statistics (app/stats: GET /api/v1/jobs/{id}/stats and the dashboard's statistics).
    stats_time_budget_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest a request computes statistics itself; the rating bootstrap stops "
        "there with the rounds it has.",
    )
    stats_background_budget_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Time budget of a statistics computation in the background.",
    )
    stats_inline_max_judgments: int = Field(
        default=50_000,
        ge=0,
        description="Jobs with more judgments get their statistics computed in the background: "
        "the request answers 202 with the last report and its age.",
    )
    stats_max_bootstrap: int = Field(
        default=1000, ge=0, le=10_000, description="Most bootstrap rounds a request may ask for."
    )
    stats_background_threads: int = Field(
        default=1, ge=1, le=16, description="Background statistics computations per API process."
    )
    # The rating web app (app/web).
    session_hours: float = Field(default=12, gt=0, description="Browser login lifetime.")
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure; unset means: when the request came over https.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per email (x4 per address) in the window."
    )
    login_window_seconds: int = Field(default=900, ge=1)
    lease_seconds: int = Field(
        default=900, ge=10, description="How long a served comparison stays leased to a rater."
    )
    too_fast_seconds: float = Field(
        default=3.0, ge=0, description="Judgments quicker than this count as too fast."
    )
    # Rating campaigns (app/rating): time on task.
    idle_after_seconds: float = Field(
        default=60,
        ge=5,
        description="On the rating page, time without any input beyond this counts as idle and "
        "is left out of a judgment's time on task (as is time the tab is hidden).",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
