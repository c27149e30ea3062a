"""Per-job settings of human rating, with the defaults a job without a row gets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import JobHumanSettings
from app.errors import RequestError


@dataclass(frozen=True)
class HumanSettings:
    gold_rate: float
    reason_required: bool
    gold_accuracy_floor: float | None
    gold_min_items: int
    lease_seconds: int


def human_settings(session: Session, job_id: int, settings: Settings) -> HumanSettings:
    row = session.scalar(select(JobHumanSettings).where(JobHumanSettings.job_id == job_id))
    return settings_from_row(row, settings)


def settings_from_row(row: JobHumanSettings | None, settings: Settings) -> HumanSettings:
    if row is None:
        return HumanSettings(0.0, False, None, 10, settings.lease_seconds)
    return HumanSettings(
        gold_rate=row.gold_rate,
        reason_required=row.reason_required,
        gold_accuracy_floor=row.gold_accuracy_floor,
        gold_min_items=row.gold_min_items,
        lease_seconds=row.lease_seconds or settings.lease_seconds,
    )


MIN_LEASE_SECONDS = 10


def save_human_settings(session: Session, job_id: int, **values: object) -> None:
    """Set some of a job's human settings; values out of range are a 422 and change nothing."""
    floor = values.get("gold_accuracy_floor")
    if isinstance(floor, float) and not 0 <= floor <= 1:
        raise RequestError(
            422, "invalid_setting", "The gold accuracy floor is a number from 0 to 1."
        )
    lease = values.get("lease_seconds")
    if isinstance(lease, int) and lease < MIN_LEASE_SECONDS:
        raise RequestError(
            422, "invalid_setting", f"Leases last at least {MIN_LEASE_SECONDS} seconds."
        )
    row = session.get(JobHumanSettings, job_id)
    if row is None:
        row = JobHumanSettings(job_id=job_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
