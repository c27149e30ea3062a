"""The tables (docs/data-model.md), as SQLAlchemy 2 typed models.

Instructions and outputs are keyed by a UUID made from the SHA-256 of their content, so the same
text posted twice (in any job) is stored once and bulk ingest needs no id round trips.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Labels and their preferences are owned by app/db/scales.py; re-exported here.
from app.db.scales import DEFAULT_SCALE, SCALE_NAMES
from app.db.scales import LABEL_PREFERENCE as LABEL_PREFERENCE
from app.db.scales import LABELS as LABELS

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ROLES = ("admin", "researcher", "rater")
JOB_STATUSES = ("active", "paused", "cancelled", "done", "budget_exhausted")
ANNOTATOR_KINDS = ("human", "simulated")
# `cancelled`: the job was cancelled while the task waited; it is never run.
TASK_STATUSES = ("queued", "running", "done", "failed", "cancelled")
ASSIGNMENT_STATUSES = ("leased", "submitted", "skipped", "expired")
DELIVERY_STATUSES = ("pending", "delivered", "failed")
# A comparison's route says which queues it is in (app/routing): raters (`human`), simulated
# annotators (`simulated`), or both.
ROUTES = ("human", "simulated", "both")
HUMAN_ROUTES = ("human", "both")
SIMULATED_ROUTES = ("simulated", "both")
_HUMAN_QUEUE = f"route IN {HUMAN_ROUTES!r} AND human_open"
# The simulated work queue: tasks waiting to be claimed, per job in claim order.
_TASK_QUEUE = "status = 'queued'"
DEFAULT_JOB_PRIORITY = 1
MAX_JOB_PRIORITY = 1000  # what the schema allows; owners are held to PREFARM_JOB_PRIORITY_MAX
_PENDING = "status = 'pending'"


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def exceeds_budget(spent_usd: float, budget_usd: float | None) -> bool:
    """A job with a budget stops dispatching paid calls once it has spent that much."""
    return budget_usd is not None and spent_usd >= budget_usd


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class (SQLAlchemy types `__table__` as a plain FromClause)."""
    return cast(Table, model.__table__)


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.current_timestamp()
    )


class User(CreatedAt, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Raters only: a paused rater is served nothing (set by an admin or by quality control).
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # Quality control counts only gold judgments made after this (set when un-paused).
    qc_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Raters only: a free-form team name, so an admin can open a job to a group in one action.
    rater_group: Mapped[str | None] = mapped_column(String(100))


class ApiToken(CreatedAt, Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A token past this moment is refused like a revoked one; NULL: it does not expire.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Job(CreatedAt, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="ck_jobs_status"),
        # PostgreSQL only (migration 0008 cannot add a CHECK to an existing SQLite table).
        CheckConstraint(_one_of("preference_scale", SCALE_NAMES), name="ck_jobs_preference_scale"),
        UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        CheckConstraint(
            f"priority >= 1 AND priority <= {MAX_JOB_PRIORITY}", name="ck_jobs_priority"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    routing: Mapped[dict[str, Any]] = mapped_column(JSON)
    human_overlap: Mapped[int] = mapped_column(Integer, default=1)
    annotators: Mapped[list[str]] = mapped_column(JSON)
    budget_usd: Mapped[float | None] = mapped_column(Float)
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    reference_generator: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Weight of the job in the workers' fair claim (app/worker/store.py): a job of priority 3
    # gets three tasks per claim round for every one of a job of priority 1.
    priority: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_JOB_PRIORITY, server_default=str(DEFAULT_JOB_PRIORITY)
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the creating request body: a reused Idempotency-Key with another body is a 409.
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.current_timestamp(), onupdate=func.now()
    )
    # How raters answer (app/db/scales.py): a side only, or a side and a strength.
    preference_scale: Mapped[str] = mapped_column(
        String(20), default=DEFAULT_SCALE, server_default=DEFAULT_SCALE
    )
    # The current version of the rating guidelines (job_guidelines); 0: the job has none.
    guidelines_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the job last became `done` (every comparison settled); NULL while it is not.
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Called once per completion with a signed POST (app/jobs/webhooks.py); the secret signs it.
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))

    @hybrid_property
    def over_budget(self) -> bool:
        return exceeds_budget(self.spent_usd, self.budget_usd)

    @over_budget.inplace.expression
    @classmethod
    def _over_budget_sql(cls) -> ColumnElement[bool]:
        return and_(cls.budget_usd.is_not(None), cls.spent_usd >= cls.budget_usd)


class Instruction(Base):
    __tablename__ = "instructions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    instruction: Mapped[str] = mapped_column(Text)
    input: Mapped[str] = mapped_column(Text, default="")
    # A conversation prompt (app/db/messages.py): the whole message list, its last user turn
    # in `instruction`; NULL for an instruction prompt.
    messages: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


class Output(Base):
    __tablename__ = "outputs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    instruction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("instructions.id"), index=True)
    generator: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # A candidate posted as several assistant messages; `text` holds them joined. NULL: one.
    messages: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


class Comparison(CreatedAt, Base):
    __tablename__ = "comparisons"
    __table_args__ = (
        UniqueConstraint("job_id", "external_id", name="uq_comparisons_job_external_id"),
        CheckConstraint(
            "gold_preference IS NULL OR (gold_preference >= 1 AND gold_preference <= 2)",
            name="ck_comparisons_gold_preference",
        ),
        Index("ix_comparisons_job_id_id", "job_id", "id"),
        # The human work queue: comparisons raters may still be given, in serving order.
        Index(
            "ix_comparisons_human_queue",
            "job_id",
            "id",
            postgresql_where=text(_HUMAN_QUEUE),
            sqlite_where=text(_HUMAN_QUEUE),
        ),
        # Whether a job has work left (app/routing/completion.py): one probe, however large.
        Index(
            "ix_comparisons_pending",
            "job_id",
            postgresql_where=text(_PENDING),
            sqlite_where=text(_PENDING),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    instruction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("instructions.id"))
    output_1_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outputs.id"))
    output_2_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outputs.id"))
    gold_preference: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(20), default="simulated")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    # SHA-256 of the posted row: re-posting an id with other content is a conflict, not a no-op.
    content_sha256: Mapped[str] = mapped_column(String(64))
    # Human leasing (app/rating/assignment.py): raters holding a live lease or done with it, and
    # whether that is still below the job's human_overlap k.
    human_claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Why an `active` job sent this comparison to humans after its simulated judgments
    # (app/routing/escalation.py): disagreement, uncertain or low_agreement.
    escalation: Mapped[str | None] = mapped_column(String(40))
    human_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Annotator(CreatedAt, Base):
    __tablename__ = "annotators"
    __table_args__ = (CheckConstraint(_one_of("kind", ANNOTATOR_KINDS), name="ck_annotators_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    config_sha256: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class Annotation(CreatedAt, Base):
    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint(
            "comparison_id", "annotator_id", "repeat", name="uq_annotations_comparison_annotator"
        ),
        CheckConstraint(
            "preference IS NULL OR (preference >= 1 AND preference <= 2)",
            name="ck_annotations_preference",
        ),
        CheckConstraint(
            "label IS NULL OR " + _one_of("label", LABELS), name="ck_annotations_label"
        ),
        # PostgreSQL only (migration 0008 cannot add a CHECK to an existing SQLite table).
        CheckConstraint("strength IS NULL OR strength >= 0", name="ck_annotations_strength"),
        Index("ix_annotations_job_id_id", "job_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    # 0 for the first judgment; repeated judgments of one item (for variance) count up.
    repeat: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    preference: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(16))
    shown_swapped: Mapped[bool | None] = mapped_column(Boolean)
    rationale: Mapped[str | None] = mapped_column(Text)
    raw_completion: Mapped[str | None] = mapped_column(Text)
    parse_error: Mapped[str | None] = mapped_column(Text)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    seconds_on_task: Mapped[float | None] = mapped_column(Float)
    is_noisy_label: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    source: Mapped[str] = mapped_column(String(16), default="imported")
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    # Graded scales (app/db/scales.py): the level chosen, 1 = the weakest; 0 = the middle.
    strength: Mapped[int | None] = mapped_column(Integer)
    # The job's guidelines version the rater worked under (null: the job had none).
    guideline_version: Mapped[int | None] = mapped_column(Integer)
    # Raters may change their last judgment: this row is always the current version; the
    # versions it replaced are kept in judgment_versions.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Idle time the rating page reported (hidden tab, no input), left out of seconds_on_task.
    idle_seconds: Mapped[float | None] = mapped_column(Float)


class JudgmentVersion(Base):
    """A version of a rater's judgment that a later change replaced, kept for audit only:
    nothing counts it (k, statistics, exports read `annotations`, the current versions)."""

    __tablename__ = "judgment_versions"
    __table_args__ = (
        UniqueConstraint(
            "annotation_id", "version", name="uq_judgment_versions_annotation_version"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    preference: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(16))
    strength: Mapped[int | None] = mapped_column(Integer)
    rationale: Mapped[str | None] = mapped_column(Text)
    guideline_version: Mapped[int | None] = mapped_column(Integer)
    seconds_on_task: Mapped[float | None] = mapped_column(Float)
    # When this version was made, and when the next one replaced it.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    replaced_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Task(CreatedAt, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("comparison_id", "annotator_id", name="uq_tasks_comparison_annotator"),
        CheckConstraint(_one_of("status", TASK_STATUSES), name="ck_tasks_status"),
        Index("ix_tasks_claim", "status", "not_before"),
        Index("ix_tasks_job_id_status", "job_id", "status"),
        # The fair claim reads each job's queued tasks in id order from this partial index.
        Index(
            "ix_tasks_queue",
            "job_id",
            "id",
            postgresql_where=text(_TASK_QUEUE),
            sqlite_where=text(_TASK_QUEUE),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    leased_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The pool that chose this annotator (its p_label_flip applies), or None for a direct name.
    pool: Mapped[str | None] = mapped_column(String(200))


class Assignment(CreatedAt, Base):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("comparison_id", "user_id", name="uq_assignments_comparison_user"),
        CheckConstraint(_one_of("status", ASSIGNMENT_STATUSES), name="ck_assignments_status"),
        Index("ix_assignments_job_id_status", "job_id", "status"),
        Index("ix_assignments_user_id_submitted_at", "user_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="leased")
    shown_swapped: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LlmCache(CreatedAt, Base):
    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    completion: Mapped[dict[str, Any]] = mapped_column(JSON)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class WebSession(Base):
    """A browser login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginAttempt(Base):
    """Failed and successful logins, for rate limiting by email and by client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created_at", "email", "created_at"),
        Index("ix_login_attempts_client_ip_created_at", "client_ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JobHumanSettings(Base):
    """How a job is rated by humans; a job without a row uses the defaults."""

    __tablename__ = "job_human_settings"
    __table_args__ = (
        CheckConstraint(
            "gold_rate >= 0 AND gold_rate <= 1", name="ck_job_human_settings_gold_rate"
        ),
    )

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    # Share of served items that are gold comparisons (those with a gold_preference).
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    reason_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Raters whose gold accuracy falls below this after gold_min_items are paused.
    gold_accuracy_floor: Mapped[float | None] = mapped_column(Float)
    gold_min_items: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Lease length; NULL means PREFARM_LEASE_SECONDS.
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    # Judgments quicker than this are too fast (NULL: PREFARM_TOO_FAST_SECONDS); a rater with
    # more than too_fast_share of their judgments too fast is flagged (NULL: never).
    too_fast_seconds: Mapped[float | None] = mapped_column(Float)
    too_fast_share: Mapped[float | None] = mapped_column(Float)


class RaterJob(Base):
    """Which jobs a rater may rate."""

    __tablename__ = "rater_jobs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The guidelines version the rater last read (0: none yet); a newer one is shown first.
    guidelines_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class JobGuidelines(Base):
    """Every version of a job's rating guidelines (Markdown); jobs.guidelines_version is the
    current one. Versions are never changed or deleted, so a judgment's version stays readable."""

    __tablename__ = "job_guidelines"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.current_timestamp()
    )


class StatisticsCache(Base):
    """The last statistics report of a job for one set of parameters (app/stats/cache.py).

    A report is fresh while the job's judgments are still those it was computed from: the same
    count and the same newest id. `computing_since` marks a computation under way, so at most
    one runs per job and parameters, in any process."""

    __tablename__ = "statistics_cache"
    __table_args__ = (
        UniqueConstraint("job_id", "params_sha256", name="uq_statistics_cache_job_params"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    params_sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    judgment_count: Mapped[int | None] = mapped_column(BigInteger)
    last_annotation_id: Mapped[int | None] = mapped_column(BigInteger)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    compute_seconds: Mapped[float | None] = mapped_column(Float)
    computing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookDelivery(CreatedAt, Base):
    """One call of a job's webhook: stored with the transaction that finished the job and sent
    by the workers' loop (app/worker/webhooks.py), so it survives restarts and blocks no
    request."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="ck_webhook_deliveries_status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(2000))
    # The exact bytes sent and signed, so every retry sends the same body and signature.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WorkerHeartbeat(Base):
    """A worker process and when it last said it was alive (its health check reads this)."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
