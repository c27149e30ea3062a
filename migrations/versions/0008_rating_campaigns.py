"""rating campaigns: guidelines (versioned), graded preferences, judgment versions, time on
task, too-fast flags, rater groups

Upgrade keeps every row: existing jobs get the `binary` scale and no guidelines, existing
judgments are version 1 without a strength, existing job access has read no guidelines.

Downgrade DROPS DATA: every guidelines text, the judgments' strengths, guideline versions and
idle times, the replaced judgment versions kept for audit, the too-fast settings and the rater
groups. The current version of each judgment stays in `annotations`.

Columns are added and dropped with plain ALTER TABLE on both databases, never by rebuilding a
table: on SQLite a rebuild drops the old table, and with foreign keys on that cascades into
every table that references it. So the two CHECK constraints (scale names, strength >= 0) are
added on PostgreSQL only; SQLite cannot add a CHECK to an existing table without a rebuild, and
there the application alone keeps those values valid.

Revision ID: 0008
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SCALES = "preference_scale IN ('binary', 'llama2_4', 'likert_7')"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column(
            "preference_scale", sa.String(length=20), server_default="binary", nullable=False
        ),
    )
    op.add_column(
        "jobs", sa.Column("guidelines_version", sa.Integer(), server_default="0", nullable=False)
    )
    if _postgres():
        op.create_check_constraint("ck_jobs_preference_scale", "jobs", SCALES)

    op.create_table(
        "job_guidelines",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("job_id", "version"),
    )

    op.add_column("annotations", sa.Column("strength", sa.Integer(), nullable=True))
    op.add_column("annotations", sa.Column("guideline_version", sa.Integer(), nullable=True))
    op.add_column(
        "annotations", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("annotations", sa.Column("idle_seconds", sa.Float(), nullable=True))
    if _postgres():
        op.create_check_constraint(
            "ck_annotations_strength", "annotations", "strength IS NULL OR strength >= 0"
        )

    op.create_table(
        "judgment_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("annotation_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("preference", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=16), nullable=True),
        sa.Column("strength", sa.Integer(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("guideline_version", sa.Integer(), nullable=True),
        sa.Column("seconds_on_task", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["annotation_id"], ["annotations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "annotation_id", "version", name="uq_judgment_versions_annotation_version"
        ),
    )

    op.add_column(
        "rater_jobs", sa.Column("guidelines_seen", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("job_human_settings", sa.Column("too_fast_seconds", sa.Float(), nullable=True))
    op.add_column("job_human_settings", sa.Column("too_fast_share", sa.Float(), nullable=True))
    op.add_column("users", sa.Column("rater_group", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "rater_group")
    op.drop_column("job_human_settings", "too_fast_share")
    op.drop_column("job_human_settings", "too_fast_seconds")
    op.drop_column("rater_jobs", "guidelines_seen")
    op.drop_table("judgment_versions")
    if _postgres():
        op.drop_constraint("ck_annotations_strength", "annotations", type_="check")
    for column in ("idle_seconds", "version", "guideline_version", "strength"):
        op.drop_column("annotations", column)
    op.drop_table("job_guidelines")
    if _postgres():
        op.drop_constraint("ck_jobs_preference_scale", "jobs", type_="check")
    op.drop_column("jobs", "guidelines_version")
    op.drop_column("jobs", "preference_scale")
