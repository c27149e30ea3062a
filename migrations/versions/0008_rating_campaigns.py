"""rating campaigns: guidelines (versioned), graded preferences, judgment versions, time on
task, too-fast flags, rater groups

Upgrade keeps every row: existing jobs get the `binary` scale and no guidelines, existing
judgments are version 1 without a strength, existing job access has read no guidelines.

Downgrade DROPS DATA: every guidelines text, the judgments' strengths, guideline versions and
idle times, the replaced judgment versions kept for audit, the too-fast settings and the rater
groups. The current version of each judgment stays in `annotations`.

Revision ID: 0008
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SCALES = "preference_scale IN ('binary', 'llama2_4', 'likert_7')"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column(
                "preference_scale", sa.String(length=20), server_default="binary", nullable=False
            )
        )
        batch.add_column(
            sa.Column("guidelines_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_check_constraint("ck_jobs_preference_scale", SCALES)

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

    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("strength", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("guideline_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("idle_seconds", sa.Float(), nullable=True))
        batch.create_check_constraint(
            "ck_annotations_strength", "strength IS NULL OR strength >= 0"
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

    with op.batch_alter_table("rater_jobs") as batch:
        batch.add_column(
            sa.Column("guidelines_seen", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("job_human_settings") as batch:
        batch.add_column(sa.Column("too_fast_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("too_fast_share", sa.Float(), nullable=True))

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("rater_group", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("rater_group")
    with op.batch_alter_table("job_human_settings") as batch:
        batch.drop_column("too_fast_share")
        batch.drop_column("too_fast_seconds")
    with op.batch_alter_table("rater_jobs") as batch:
        batch.drop_column("guidelines_seen")
    op.drop_table("judgment_versions")
    with op.batch_alter_table("annotations") as batch:
        batch.drop_constraint("ck_annotations_strength", type_="check")
        batch.drop_column("idle_seconds")
        batch.drop_column("version")
        batch.drop_column("guideline_version")
        batch.drop_column("strength")
    op.drop_table("job_guidelines")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("ck_jobs_preference_scale", type_="check")
        batch.drop_column("guidelines_version")
        batch.drop_column("preference_scale")
