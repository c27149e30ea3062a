"""A job's statistics as a request gets them: from the cache when fresh, computed within a time
budget when the job is small, else computed in the background while the last report is shown.

No request does unbounded work: the computation it runs itself stops its bootstrap at the time
budget, and a large job's computation runs on the bounded background pool, at most one per job
and parameters (app/stats/cache.py).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db.session import read_connection, unit_of_work
from app.stats.cache import (
    JudgmentMark,
    StatisticsParams,
    claim_computation,
    judgment_mark,
    read_cached,
    release_claim,
    store_report,
)
from app.stats.report import job_statistics

log = logging.getLogger("prefarm.stats")
State = Literal["fresh", "computed", "computing"]


@dataclass(frozen=True)
class StatisticsLimits:
    time_budget_seconds: float = 10.0
    background_budget_seconds: float = 120.0
    inline_max_judgments: int = 50_000


@dataclass(frozen=True)
class StatisticsAnswer:
    """`fresh`: the cached report of the current judgments; `computed`: computed by this
    request; `computing`: a background computation is under way and `report` is the last one
    (of older judgments) or None."""

    state: State
    report: dict[str, Any] | None
    computed_at: datetime | None
    judgments_now: int

    def cache_info(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        report_judgments = None if self.report is None else self.report["counts"]["judgments"]
        return {
            "state": self.state,
            "computed_at": None if self.computed_at is None else self.computed_at.isoformat(),
            "age_seconds": None
            if self.computed_at is None
            else max(0.0, (now - self.computed_at).total_seconds()),
            "stale": self.state == "computing",
            "judgments_now": self.judgments_now,
            "report_judgments": report_judgments,
        }


def compute_report(
    engine: Engine, job_id: int, params: StatisticsParams, budget_seconds: float
) -> dict[str, Any]:
    return job_statistics(
        engine,
        job_id,
        params.selection,
        seed=params.seed,
        reference_generator=params.reference_generator,
        bootstrap_rounds=params.bootstrap_rounds,
        deadline=time.monotonic() + budget_seconds,
        preference_scale=params.preference_scale,
    )


class BackgroundStatistics:
    """A bounded pool of threads in this process that fill the statistics cache."""

    def __init__(self, threads: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="prefarm-stats")
        self._lock = threading.Lock()
        self._running: set[tuple[int, str]] = set()

    def submit(
        self, engine: Engine, job_id: int, params: StatisticsParams, budget_seconds: float
    ) -> None:
        """Start computing unless this process or another already is."""
        key = (job_id, params.sha256())
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)
        try:
            with unit_of_work(engine) as session:
                claimed = claim_computation(
                    session, job_id, params, datetime.now(UTC), stale_after=2 * budget_seconds
                )
        except Exception:
            claimed = False
            log.exception("could not claim the statistics of job %d", job_id)
        if not claimed:
            with self._lock:
                self._running.discard(key)
            return
        self._pool.submit(self._compute, engine, job_id, params, budget_seconds, key)

    def _compute(
        self,
        engine: Engine,
        job_id: int,
        params: StatisticsParams,
        budget_seconds: float,
        key: tuple[int, str],
    ) -> None:
        try:
            with read_connection(engine) as connection:
                mark = judgment_mark(connection, job_id)
            started = time.monotonic()
            report = compute_report(engine, job_id, params, budget_seconds)
            with unit_of_work(engine) as session:
                store_report(
                    session,
                    job_id,
                    params,
                    mark,
                    report,
                    computed_at=datetime.now(UTC),
                    seconds=time.monotonic() - started,
                )
        except Exception:
            log.exception("statistics of job %d failed", job_id)
            with unit_of_work(engine) as session:
                release_claim(session, job_id, params)
        finally:
            with self._lock:
                self._running.discard(key)

    def idle(self) -> bool:
        with self._lock:
            return not self._running

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def statistics_answer(
    session: Session,
    engine: Engine,
    job_id: int,
    params: StatisticsParams,
    limits: StatisticsLimits,
    background: BackgroundStatistics,
    *,
    compute_inline: bool = True,
) -> StatisticsAnswer:
    """The job's statistics for these parameters, computed at most once per judgment mark."""
    mark: JudgmentMark = judgment_mark(session, job_id)
    cached = read_cached(session, job_id, params)
    if cached is not None and cached.report is not None and cached.mark == mark:
        return StatisticsAnswer("fresh", cached.report, cached.computed_at, mark.count)
    if compute_inline and mark.count <= limits.inline_max_judgments:
        started = time.monotonic()
        report = compute_report(engine, job_id, params, limits.time_budget_seconds)
        computed_at = datetime.now(UTC)
        store_report(
            session,
            job_id,
            params,
            mark,
            report,
            computed_at=computed_at,
            seconds=time.monotonic() - started,
        )
        return StatisticsAnswer("computed", report, computed_at, mark.count)
    background.submit(engine, job_id, params, limits.background_budget_seconds)
    last = cached.report if cached is not None else None
    return StatisticsAnswer(
        "computing", last, cached.computed_at if cached is not None else None, mark.count
    )
