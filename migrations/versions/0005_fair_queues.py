"""fair queues: job priority, the per-job task queue index, cancelled tasks

Revision ID: 0005
Revises: 0004

Downgrade drops data: every job's `priority` is lost, and tasks that were `cancelled` become
`failed` with `last_error` saying the job was cancelled (0004 has no `cancelled` status).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TASK_QUEUE = "status = 'queued'"
STATUSES = "status IN ('queued', 'running', 'done', 'failed', 'cancelled')"
OLD_STATUSES = "status IN ('queued', 'running', 'done', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="1", nullable=False))
        batch.create_check_constraint("ck_jobs_priority", "priority >= 1 AND priority <= 1000")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("ck_tasks_status", type_="check")
        batch.create_check_constraint("ck_tasks_status", STATUSES)
    op.create_index(
        "ix_tasks_queue",
        "tasks",
        ["job_id", "id"],
        unique=False,
        postgresql_where=sa.text(TASK_QUEUE),
        sqlite_where=sa.text(TASK_QUEUE),
    )
    # Jobs cancelled before this revision kept their queued tasks: they are cancelled now.
    op.execute(
        "UPDATE tasks SET status = 'cancelled' WHERE status = 'queued' "
        "AND job_id IN (SELECT id FROM jobs WHERE status = 'cancelled')"
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_queue", table_name="tasks")
    op.execute(
        "UPDATE tasks SET status = 'failed', last_error = 'the job was cancelled' "
        "WHERE status = 'cancelled'"
    )
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("ck_tasks_status", type_="check")
        batch.create_check_constraint("ck_tasks_status", OLD_STATUSES)
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("ck_jobs_priority", type_="check")
        batch.drop_column("priority")
