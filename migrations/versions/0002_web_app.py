"""web app: rater sessions, login attempts, job access, human settings, leasing columns

Revision ID: 0002
Revises: 0001

Upgrade keeps the data there is: `comparisons.human_claims` is counted from the raters' leases
and judgments already stored (and `human_open` set from it and the job's k), and
`assignments.submitted_at` is taken from the rater's judgment.

Downgrade drops data: browser sessions (everyone is logged out), login attempts, the jobs'
human settings, which raters may rate which jobs, rater pauses and their reasons, and the
leasing columns (claims, submission times).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HUMAN_QUEUE = "route IN ('human', 'both') AND human_open"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("qc_since", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(
            sa.Column("human_claims", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("human_open", sa.Boolean(), server_default="1", nullable=False))
    op.create_index(
        "ix_comparisons_human_queue",
        "comparisons",
        ["job_id", "id"],
        unique=False,
        postgresql_where=sa.text(HUMAN_QUEUE),
        sqlite_where=sa.text(HUMAN_QUEUE),
    )

    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_assignments_user_id_submitted_at",
        "assignments",
        ["user_id", "submitted_at"],
        unique=False,
    )

    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempts_email_created_at", "login_attempts", ["email", "created_at"])
    op.create_index(
        "ix_login_attempts_client_ip_created_at", "login_attempts", ["client_ip", "created_at"]
    )

    op.create_table(
        "job_human_settings",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("gold_rate", sa.Float(), server_default="0", nullable=False),
        sa.Column("reason_required", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("gold_accuracy_floor", sa.Float(), nullable=True),
        sa.Column("gold_min_items", sa.Integer(), server_default="10", nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "gold_rate >= 0 AND gold_rate <= 1", name="ck_job_human_settings_gold_rate"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )

    op.create_table(
        "rater_jobs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "job_id"),
    )
    op.create_index(op.f("ix_rater_jobs_job_id"), "rater_jobs", ["job_id"], unique=False)
    _fill_leasing_columns()


# A rater's judgment: an annotation by the annotator of a user account.
RATER_JUDGMENT = (
    "SELECT {what} FROM annotations an JOIN annotators h ON h.id = an.annotator_id "
    "WHERE h.user_id IS NOT NULL AND {where}"
)


def _fill_leasing_columns() -> None:
    """human_claims counts live leases plus submitted judgments (as app/rating/assignment.py
    keeps it): every `leased` assignment (a lapsed one is given back when swept) and every
    `submitted` one, plus rater judgments stored without an assignment."""
    judged_at = RATER_JUDGMENT.format(
        what="MIN(an.created_at)",
        where="an.comparison_id = assignments.comparison_id AND h.user_id = assignments.user_id",
    )
    op.execute(
        f"UPDATE assignments SET submitted_at = COALESCE(({judged_at}), created_at) "
        "WHERE status = 'submitted'"
    )
    without_assignment = RATER_JUDGMENT.format(
        what="COUNT(*)",
        where="an.comparison_id = comparisons.id AND NOT EXISTS (SELECT 1 FROM assignments a "
        "WHERE a.comparison_id = an.comparison_id AND a.user_id = h.user_id)",
    )
    claimed = (
        "SELECT COUNT(*) FROM assignments a WHERE a.comparison_id = comparisons.id "
        "AND a.status IN ('leased', 'submitted')"
    )
    touched = (
        "id IN (SELECT comparison_id FROM assignments) OR id IN ("
        + RATER_JUDGMENT.format(what="an.comparison_id", where="1 = 1")
        + ")"
    )
    op.execute(
        f"UPDATE comparisons SET human_claims = ({claimed}) + ({without_assignment}) "
        f"WHERE {touched}"
    )
    op.execute(
        "UPDATE comparisons SET human_open = (human_claims < "
        "(SELECT human_overlap FROM jobs WHERE jobs.id = comparisons.job_id)) "
        "WHERE human_claims > 0"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rater_jobs_job_id"), table_name="rater_jobs")
    op.drop_table("rater_jobs")
    op.drop_table("job_human_settings")
    op.drop_index("ix_login_attempts_client_ip_created_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_email_created_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")

    op.drop_index("ix_assignments_user_id_submitted_at", table_name="assignments")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("submitted_at")

    op.drop_index("ix_comparisons_human_queue", table_name="comparisons")
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_column("human_open")
        batch.drop_column("human_claims")

    with op.batch_alter_table("users") as batch:
        batch.drop_column("qc_since")
        batch.drop_column("paused_reason")
        batch.drop_column("paused_at")
