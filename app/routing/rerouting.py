"""Changing a running job's routing: work not yet started follows the new policy; every
judgment already made, and every comparison a rater or worker has started, stays as it is."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from app.annotators.seeding import comparison_key
from app.db.models import Annotation, Comparison, Job, Task
from app.routing.completion import settle_comparisons
from app.routing.planning import plan_tasks
from app.routing.policy import Routing, initial_route

_CHUNK = 5000


def reroute_untouched(session: Session, job: Job) -> int:
    """Give the job's untouched comparisons the route its current policy draws; returns how many
    changed. Untouched: no judgment, no human claim, no simulated task beyond `queued`."""
    touched_by_task = exists().where(
        Task.comparison_id == Comparison.id, Task.status.in_(("running", "done", "failed"))
    )
    judged = exists().where(Annotation.comparison_id == Comparison.id)
    untouched = session.execute(
        select(
            Comparison.id,
            Comparison.external_id,
            Comparison.instruction_id,
            Comparison.output_1_id,
            Comparison.output_2_id,
            Comparison.route,
        ).where(
            Comparison.job_id == job.id,
            Comparison.human_claims == 0,
            ~judged,
            ~touched_by_task,
        )
    ).all()
    routing = Routing.of(job.routing)
    changed: dict[str, list[tuple[int, str]]] = {}
    for row in untouched:
        route = initial_route(
            routing, job.seed, comparison_key(row.instruction_id, row.output_1_id, row.output_2_id)
        )
        if route != row.route:
            changed.setdefault(route, []).append((row.id, row.external_id))
    for route, members in changed.items():
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            ids = [comparison_id for comparison_id, _ in chunk]
            session.execute(
                update(Comparison)
                .where(Comparison.id.in_(ids))
                .values(route=route, human_open=True)
                .execution_options(synchronize_session=False)
            )
            if route == "human":
                session.execute(
                    delete(Task)
                    .where(Task.comparison_id.in_(ids), Task.status == "queued")
                    .execution_options(synchronize_session=False)
                )
            else:
                plan_tasks(
                    session, job.id, [external for _, external in members[start : start + _CHUNK]]
                )
            settle_comparisons(session, ids)
    return sum(len(members) for members in changed.values())
