"""Worker heartbeats: each worker process writes when it last was alive, so operators (and a
container's health check, `prefarm workers check`) can tell a live worker from a stuck one."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.db.dialect import insert_ignoring_conflicts
from app.db.models import WorkerHeartbeat
from app.db.session import unit_of_work


def beat(engine: Engine, worker_id: str) -> None:
    """Record that this worker is alive now (the first beat registers it)."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        refreshed = session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.worker_id == worker_id)
            .values(heartbeat_at=now, stopped_at=None)
            .returning(WorkerHeartbeat.worker_id)
        ).first()
        if refreshed is None:
            session.execute(
                insert_ignoring_conflicts(session, WorkerHeartbeat).values(
                    worker_id=worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )


def stopped(engine: Engine, worker_id: str) -> None:
    with unit_of_work(engine) as session:
        session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.worker_id == worker_id)
            .values(stopped_at=datetime.now(UTC))
        )


@dataclass(frozen=True)
class WorkerState:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    age_seconds: float
    state: str  # running, stale (no heartbeat for max_age) or stopped


def list_workers(session: Session, max_age: float, limit: int = 200) -> list[WorkerState]:
    now = datetime.now(UTC)
    rows = session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.heartbeat_at.desc()).limit(limit)
    )
    result = []
    for row in rows:
        age = (now - row.heartbeat_at).total_seconds()
        state = "stopped" if row.stopped_at else ("stale" if age > max_age else "running")
        result.append(
            WorkerState(
                row.worker_id, row.host, row.pid, row.started_at, row.heartbeat_at, age, state
            )
        )
    return result


def freshest_heartbeat_age(session: Session, host: str) -> float | None:
    """Seconds since the newest heartbeat of a running worker on this host (None: none)."""
    newest = session.scalar(
        select(func.max(WorkerHeartbeat.heartbeat_at)).where(
            WorkerHeartbeat.host == host, WorkerHeartbeat.stopped_at.is_(None)
        )
    )
    if newest is None:
        return None
    if newest.tzinfo is None:  # an aggregate skips the column type's conversion on SQLite
        newest = datetime.fromisoformat(str(newest)).replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - newest).total_seconds())
