"""routing: why a comparison was escalated to humans

Revision ID: 0004
Revises: 0003

Downgrade drops data: why each comparison was escalated to humans (`comparisons.escalation`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(sa.Column("escalation", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_column("escalation")
