"""Where a job's work stands: by route (simulated tasks, human leases, imports) and by annotator.

Every query is filtered by job id and grouped, so its result has a handful of rows however large
the job is; the counts ride the (job_id, ...) indexes of tasks, assignments and annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.db.models import HUMAN_ROUTES, Annotation, Annotator, Assignment, Comparison, Job, Task

STATES = ("queued", "running", "done", "failed")


@dataclass
class WorkRow:
    name: str
    kind: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    judgments: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class WorkBreakdown:
    comparisons: int
    comparisons_by_route: dict[str, int]
    judgments: int
    routes: list[WorkRow]
    annotators: list[WorkRow]


def _simulated_by_annotator(session: Session, job_id: int) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(Task.annotator_id, Task.status, func.count())
        .where(Task.job_id == job_id)
        .group_by(Task.annotator_id, Task.status)
    ).all()
    result: dict[int, dict[str, int]] = {}
    for annotator_id, status, count in rows:
        result.setdefault(annotator_id, dict.fromkeys(STATES, 0))[status] = count
    return result


def _human_route(session: Session, job: Job) -> WorkRow:
    """Human slots: k per human-routed comparison; unclaimed ones are queued."""
    now = datetime.now(UTC)
    state = case(
        (Assignment.status == "submitted", "done"),
        ((Assignment.status == "leased") & (Assignment.expires_at > now), "running"),
        else_="failed",  # skipped or expired: the slot goes back to the queue
    )
    row = WorkRow("human", "human")
    for status, count in session.execute(
        select(state, func.count()).where(Assignment.job_id == job.id).group_by(state)
    ).all():
        row.counts[status] += count
    open_slots = session.scalar(
        select(
            func.coalesce(
                func.sum(
                    case(
                        (
                            Comparison.human_claims < job.human_overlap,
                            job.human_overlap - Comparison.human_claims,
                        ),
                        else_=0,
                    )
                ),
                0,
            )
        ).where(Comparison.job_id == job.id, Comparison.route.in_(HUMAN_ROUTES))
    )
    row.counts["queued"] = int(open_slots or 0)
    return row


def work_breakdown(session: Session, job: Job) -> WorkBreakdown:
    by_route = dict(
        session.execute(
            select(Comparison.route, func.count())
            .where(Comparison.job_id == job.id)
            .group_by(Comparison.route)
        ).all()
    )
    judgments_by = session.execute(
        select(Annotation.annotator_id, Annotation.source, func.count())
        .where(Annotation.job_id == job.id)
        .group_by(Annotation.annotator_id, Annotation.source)
    ).all()
    tasks = _simulated_by_annotator(session, job.id)
    annotator_ids = {row[0] for row in judgments_by} | set(tasks)
    names = {
        a.id: (a.name, a.kind)
        for a in session.execute(
            select(Annotator.id, Annotator.name, Annotator.kind).where(
                Annotator.id.in_(annotator_ids)
            )
        ).all()
    }
    annotators: dict[int, WorkRow] = {
        annotator_id: WorkRow(*names.get(annotator_id, (f"#{annotator_id}", "?")))
        for annotator_id in sorted(annotator_ids, key=lambda i: names.get(i, ("",))[0])
    }
    for annotator_id, counts in tasks.items():
        annotators[annotator_id].counts = counts
    imported = WorkRow("imported", "imported")
    for annotator_id, source, count in judgments_by:
        annotators[annotator_id].judgments += count
        if source == "imported":
            imported.counts["done"] += count
            imported.judgments += count
    simulated = WorkRow("simulated", "simulated")
    for counts in tasks.values():
        for status, count in counts.items():
            simulated.counts[status] += count
    simulated.judgments = sum(
        count for _, source, count in judgments_by if source not in ("imported", "web")
    )
    human = _human_route(session, job)
    human.judgments = sum(count for _, source, count in judgments_by if source == "web")
    return WorkBreakdown(
        comparisons=sum(by_route.values()),
        comparisons_by_route=by_route,
        judgments=sum(count for _, _, count in judgments_by),
        routes=[simulated, human, imported],
        annotators=list(annotators.values()),
    )
