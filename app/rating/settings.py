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
    # Judgments quicker than this are too fast; a rater with a larger share of too-fast
    # judgments than too_fast_share is flagged (None: never flagged).
    too_fast_seconds: float
    too_fast_share: float | None
    # Whether the job's own row sets the lease and too-fast time (else the server's defaults).
    own_lease: bool = False
    own_too_fast_seconds: bool = False


def human_settings(session: Session, job_id: int, settings: Settings) -> HumanSettings:
    row = session.scalar(select(JobHumanSettings).where(JobHumanSettings.job_id == job_id))
    return settings_from_row(row, settings)


def settings_from_row(row: JobHumanSettings | None, settings: Settings) -> HumanSettings:
    if row is None:
        return HumanSettings(
            0.0, False, None, 10, settings.lease_seconds, settings.too_fast_seconds, None
        )
    return HumanSettings(
        gold_rate=row.gold_rate,
        reason_required=row.reason_required,
        gold_accuracy_floor=row.gold_accuracy_floor,
        gold_min_items=row.gold_min_items,
        lease_seconds=row.lease_seconds or settings.lease_seconds,
        too_fast_seconds=(
            row.too_fast_seconds if row.too_fast_seconds is not None else settings.too_fast_seconds
        ),
        too_fast_share=row.too_fast_share,
        own_lease=row.lease_seconds is not None,
        own_too_fast_seconds=row.too_fast_seconds is not None,
    )


MIN_LEASE_SECONDS = 10


def _share(values: dict[str, object], name: str, what: str) -> None:
    value = values.get(name)
    if isinstance(value, float) and not 0 <= value <= 1:
        raise RequestError(422, "invalid_setting", f"The {what} is a number from 0 to 1.")


def save_human_settings(session: Session, job_id: int, **values: object) -> None:
    """Set some of a job's human settings; values out of range are a 422 and change nothing."""
    _share(values, "gold_accuracy_floor", "gold accuracy floor")
    _share(values, "too_fast_share", "share of too-fast judgments")
    lease = values.get("lease_seconds")
    if isinstance(lease, int) and lease < MIN_LEASE_SECONDS:
        raise RequestError(
            422, "invalid_setting", f"Leases last at least {MIN_LEASE_SECONDS} seconds."
        )
    too_fast = values.get("too_fast_seconds")
    if isinstance(too_fast, float) and too_fast < 0:
        raise RequestError(422, "invalid_setting", "The too-fast time is 0 seconds or more.")
    row = session.get(JobHumanSettings, job_id)
    if row is None:
        row = JobHumanSettings(job_id=job_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
