"""conversations: a prompt may be a message list, a candidate several assistant messages

Upgrade adds two nullable JSON columns and keeps every row: existing instructions and outputs
have none (an instruction prompt, a one-message candidate).

Downgrade DROPS DATA: the message lists of conversation prompts and multi-message candidates.
Their rows stay, with the last user turn as the instruction and the joined candidate text.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("instructions", sa.Column("messages", sa.JSON(), nullable=True))
    op.add_column("outputs", sa.Column("messages", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("outputs", "messages")
    op.drop_column("instructions", "messages")
