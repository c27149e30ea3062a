"""The statistics cache: each job's last report per set of parameters, and who computes it.

A report is stored with the judgment mark it was computed from (how many judgments the job had
and the newest one's id). It is fresh while the job's mark is unchanged; any new judgment makes
it stale. `computing_since` is a claim: one computation per job and parameters at a time, in
any process; a claim older than its time budget (a crashed process) may be taken over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from app.db.dialect import insert_ignoring_conflicts
from app.db.models import Annotation, StatisticsCache
from app.db.scales import DEFAULT_SCALE
from app.db.session import changed_rows
from app.stats.data import Selection

# Part of every cache key: a new version of the report's definitions makes old reports stale.
REPORT_VERSION = 2


@dataclass(frozen=True)
class StatisticsParams:
    """Everything a report depends on besides the judgments."""

    selection: Selection
    seed: int
    reference_generator: str | None
    bootstrap_rounds: int
    preference_scale: str = DEFAULT_SCALE  # graded scales add the ordinal coefficients

    def describe(self) -> dict[str, Any]:
        return {
            "filters": self.selection.describe(),
            "seed": self.seed,
            "reference_generator": self.reference_generator,
            "bootstrap_rounds": self.bootstrap_rounds,
            "preference_scale": self.preference_scale,
            "version": REPORT_VERSION,
        }

    def sha256(self) -> str:
        payload = orjson.dumps(self.describe(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class JudgmentMark:
    count: int
    last_id: int | None


@dataclass(frozen=True)
class CachedReport:
    report: dict[str, Any] | None
    mark: JudgmentMark | None
    computed_at: datetime | None
    computing_since: datetime | None


def judgment_mark(reader: Session | Connection, job_id: int) -> JudgmentMark:
    """How many judgments the job has and the newest one's id (an index-only read)."""
    count, last_id = reader.execute(
        select(func.count(Annotation.id), func.max(Annotation.id)).where(
            Annotation.job_id == job_id
        )
    ).one()
    return JudgmentMark(int(count), None if last_id is None else int(last_id))


def _row(job_id: int, params: StatisticsParams) -> Any:
    return (StatisticsCache.job_id == job_id) & (StatisticsCache.params_sha256 == params.sha256())


def read_cached(session: Session, job_id: int, params: StatisticsParams) -> CachedReport | None:
    row = session.execute(
        select(
            StatisticsCache.report,
            StatisticsCache.judgment_count,
            StatisticsCache.last_annotation_id,
            StatisticsCache.computed_at,
            StatisticsCache.computing_since,
        ).where(_row(job_id, params))
    ).one_or_none()
    if row is None:
        return None
    mark = None if row.judgment_count is None else JudgmentMark(row.judgment_count, row[2])
    return CachedReport(row.report, mark, row.computed_at, row.computing_since)


def _ensure_row(session: Session, job_id: int, params: StatisticsParams) -> bool:
    """Create the job's row for these parameters if missing; True when this call created it."""
    inserted = session.execute(
        insert_ignoring_conflicts(session, StatisticsCache)
        .values(job_id=job_id, params_sha256=params.sha256(), parameters=params.describe())
        .returning(StatisticsCache.id)
    ).first()
    return inserted is not None


def store_report(
    session: Session,
    job_id: int,
    params: StatisticsParams,
    mark: JudgmentMark,
    report: dict[str, Any],
    *,
    computed_at: datetime,
    seconds: float,
) -> None:
    """Keep a finished report (and end any claim on this job and parameters)."""
    _ensure_row(session, job_id, params)
    session.execute(
        update(StatisticsCache)
        .where(_row(job_id, params))
        .values(
            report=report,
            judgment_count=mark.count,
            last_annotation_id=mark.last_id,
            computed_at=computed_at,
            compute_seconds=seconds,
            computing_since=None,
        )
    )


def claim_computation(
    session: Session, job_id: int, params: StatisticsParams, now: datetime, stale_after: float
) -> bool:
    """Take the right to compute this report; False while another computation holds it."""
    _ensure_row(session, job_id, params)
    taken = session.execute(
        update(StatisticsCache)
        .where(
            _row(job_id, params),
            or_(
                StatisticsCache.computing_since.is_(None),
                StatisticsCache.computing_since < now - timedelta(seconds=stale_after),
            ),
        )
        .values(computing_since=now)
    )
    return changed_rows(taken) == 1


def release_claim(session: Session, job_id: int, params: StatisticsParams) -> None:
    session.execute(
        update(StatisticsCache).where(_row(job_id, params)).values(computing_since=None)
    )
