"""Creating tasks for newly stored simulated comparisons, set-based.

Each comparison routed 'simulated' or 'both' gets one task per annotator of its job. A pool
name stands for one of its members, chosen per comparison by a seeded hash of its content
(app.annotators.seeding).
Runs inside the ingest transaction, so comparisons and their tasks are stored together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from app.annotators.config import AnnotatorConfig, PoolConfig
from app.annotators.registry import load_configs
from app.annotators.seeding import comparison_key, pool_member
from app.db.bulk import append_rows
from app.db.dialect import chunks
from app.db.models import SIMULATED_ROUTES, Job, Task, table

_DIRECT = text(
    "INSERT INTO tasks (job_id, comparison_id, annotator_id, status, attempts) "
    "SELECT c.job_id, c.id, a.id, 'queued', 0 FROM comparisons c, annotators a "
    f"WHERE c.job_id = :job_id AND c.route IN {SIMULATED_ROUTES!r} "
    "AND c.external_id IN :external_ids "
    "AND a.id IN :annotator_ids "
    "ON CONFLICT (comparison_id, annotator_id) DO NOTHING"
).bindparams(bindparam("external_ids", expanding=True), bindparam("annotator_ids", expanding=True))
_POOL_INPUT = text(
    "SELECT c.id, c.instruction_id, c.output_1_id, c.output_2_id FROM comparisons c "
    f"WHERE c.job_id = :job_id AND c.route IN {SIMULATED_ROUTES!r} "
    "AND c.external_id IN :external_ids"
).bindparams(bindparam("external_ids", expanding=True))


def plan_tasks(session: Session, job_id: int, external_ids: Sequence[str]) -> None:
    """Queue tasks for the job's new comparisons with these external ids (no-op for those
    routed to humans, and for jobs without simulated annotators)."""
    row = session.execute(select(Job.annotators, Job.seed).where(Job.id == job_id)).one()
    names, seed = list(row.annotators or []), row.seed or 0
    if not names or not external_ids:
        return
    configs = load_configs(session, names)
    direct_ids = [configs[n][0] for n in names if not isinstance(configs[n][1], PoolConfig)]
    pools = [c for n in names if isinstance(c := configs[n][1], PoolConfig)]
    for chunk in map(list, chunks(external_ids)):
        if direct_ids:
            session.execute(
                _DIRECT, {"job_id": job_id, "external_ids": chunk, "annotator_ids": direct_ids}
            )
        if pools:
            _plan_pools(session, job_id, seed, pools, configs, chunk, set(direct_ids))


def _plan_pools(
    session: Session,
    job_id: int,
    seed: int,
    pools: list[PoolConfig],
    configs: Mapping[str, tuple[int, AnnotatorConfig | PoolConfig]],
    external_ids: list[str],
    direct_ids: set[int],
) -> None:
    comparisons = session.execute(
        _POOL_INPUT, {"job_id": job_id, "external_ids": external_ids}
    ).all()
    planned: dict[tuple[int, int], tuple[object, ...]] = {}
    for pool in pools:
        member_ids = {name: configs[name][0] for name in pool.members}
        for comparison_id, instruction_id, output_1_id, output_2_id in comparisons:
            key = comparison_key(instruction_id, output_1_id, output_2_id)
            member = member_ids[pool_member(seed, pool.name, key, pool.members)]
            if member in direct_ids:
                continue  # the job names this member directly: it judges every comparison
            # Two pools of a job may pick the same member: one task, the first pool's.
            planned.setdefault(
                (comparison_id, member), (job_id, comparison_id, member, "queued", 0, pool.name)
            )
    append_rows(
        session,
        table(Task),
        ["job_id", "comparison_id", "annotator_id", "status", "attempts", "pool"],
        list(planned.values()),
    )
