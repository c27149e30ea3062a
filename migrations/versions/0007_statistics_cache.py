"""statistics: a cache of each job's last report per set of parameters

Revision ID: 0007
Revises: 0004

The table only holds results that can be computed again: the downgrade drops it and loses
nothing that the judgments cannot give back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistics_cache",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("params_sha256", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("judgment_count", sa.BigInteger(), nullable=True),
        sa.Column("last_annotation_id", sa.BigInteger(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compute_seconds", sa.Float(), nullable=True),
        sa.Column("computing_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "params_sha256", name="uq_statistics_cache_job_params"),
    )


def downgrade() -> None:
    op.drop_table("statistics_cache")
