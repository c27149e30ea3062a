"""Active routing: once a comparison's simulated judgments are in, send it to humans when they
disagree, are unsure, or come from an annotator that agrees too little with humans, as long as
the job's human budget allows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import Annotation, Annotator, Comparison, Job
from app.routing.policy import Routing, SimulatedJudgment, escalation_reason
from app.stats.calibration import calibration


def escalate(session: Session, comparison_ids: Sequence[int]) -> None:
    """Consider these comparisons (those of active jobs, simulated and finished) for humans."""
    finished = session.execute(
        select(Comparison.id, Comparison.job_id)
        .where(
            Comparison.id.in_(list(comparison_ids)),
            Comparison.route == "simulated",
            Comparison.status == "done",
        )
        .order_by(Comparison.id)
    ).all()
    by_job: dict[int, list[int]] = defaultdict(list)
    for comparison_id, job_id in finished:
        by_job[job_id].append(comparison_id)
    for job_id, candidates in by_job.items():
        if (
            Routing.of(session.scalar(select(Job.routing).where(Job.id == job_id)) or {}).policy
            != "active"
        ):
            continue
        # Locked so that workers escalating at once count the human budget one after another
        # (NO KEY UPDATE: compatible with the KEY SHARE lock their judgment inserts hold).
        job = session.execute(
            select(Job.routing, Job.seed).where(Job.id == job_id).with_for_update(key_share=True)
        ).one()
        _escalate_job(session, job_id, job.seed, Routing.of(job.routing), candidates)


def _escalate_job(
    session: Session, job_id: int, seed: int, routing: Routing, candidates: list[int]
) -> None:
    remaining = None
    if routing.human_budget is not None:
        used = session.scalar(
            select(func.count())
            .select_from(Comparison)
            .where(Comparison.job_id == job_id, Comparison.escalation.is_not(None))
        )
        remaining = routing.human_budget - (used or 0)
        if remaining <= 0:
            return
    judgments: dict[int, list[SimulatedJudgment]] = defaultdict(list)
    for comparison_id, name, preference in session.execute(
        select(Annotation.comparison_id, Annotator.name, Annotation.preference)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .where(
            Annotation.comparison_id.in_(candidates),
            Annotator.kind == "simulated",
            Annotation.preference.is_not(None),
        )
    ):
        judgments[comparison_id].append(SimulatedJudgment(name, cast(float, preference)))
    agreement = {}
    if routing.agreement_floor is not None:
        agreement = {n: c.agreement for n, c in calibration(session, job_id, seed).items()}
    for comparison_id in candidates:
        reason = escalation_reason(routing, judgments[comparison_id], agreement)
        if reason is None:
            continue
        session.execute(
            update(Comparison)
            .where(Comparison.id == comparison_id)
            .values(route="both", escalation=reason, status="pending", human_open=True)
            .execution_options(synchronize_session=False)
        )
        if remaining is not None:
            remaining -= 1
            if remaining == 0:
                return
