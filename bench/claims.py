"""The cost of one fair claim as the queue grows: EXPLAIN (ANALYZE, BUFFERS) of the claim
statement on PostgreSQL queues of 1,000, 10,000 and 100,000 queued tasks, in a huge job
queued first plus --jobs small jobs, each claim rolled back so every size is measured on the
same queue. Prints the planning and execution time, the shared buffers the claim touched,
and the plan of the largest queue.

    python bench/claims.py [--sizes 1000,10000,100000] [--jobs 20] [--batch 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.worker.store import claim_statement, utcnow
from bench.common import fresh_database

DATABASE = "prefarm_shared_claims_bench"


def seed(engine: Engine, huge: int, small_jobs: int) -> None:
    """One owner, one annotator, a comparison per task; the huge job first (lowest ids)."""
    instruction, output = uuid.UUID(int=1).hex, uuid.UUID(int=2).hex
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE jobs, comparisons, tasks RESTART IDENTITY CASCADE"))
        connection.execute(
            text(
                "INSERT INTO users (id, email, role, active) VALUES (1, 'o@x', 'researcher', true) "
                "ON CONFLICT DO NOTHING"
            )
        )
        connection.execute(
            text(
                "INSERT INTO annotators (id, kind, name) VALUES (1, 'simulated', 'judge') "
                "ON CONFLICT DO NOTHING"
            )
        )
        connection.execute(
            text(
                "INSERT INTO instructions (id, instruction, input) VALUES (:i, 'q', '') "
                "ON CONFLICT DO NOTHING"
            ),
            {"i": instruction},
        )
        connection.execute(
            text(
                "INSERT INTO outputs (id, instruction_id, generator, text) "
                "VALUES (:o, :i, 'g', 'a') ON CONFLICT DO NOTHING"
            ),
            {"o": output, "i": instruction},
        )
        sizes = [huge] + [5] * small_jobs
        for job_id, size in enumerate(sizes, start=1):
            connection.execute(
                text(
                    "INSERT INTO jobs (id, owner_id, name, routing, human_overlap, annotators, "
                    "seed, status) VALUES (:j, 1, 'bench', '{}', 1, '[]', 0, 'active')"
                ),
                {"j": job_id},
            )
            connection.execute(
                text(
                    "INSERT INTO comparisons (job_id, external_id, instruction_id, output_1_id, "
                    "output_2_id, route, status, content_sha256) "
                    "SELECT :j, 'c' || n, :i, :o, :o, 'simulated', 'pending', 'x' "
                    "FROM generate_series(1, :n) AS n"
                ),
                {"j": job_id, "n": size, "i": instruction, "o": output},
            )
        connection.execute(
            text(
                "INSERT INTO tasks (job_id, comparison_id, annotator_id, status, attempts) "
                "SELECT job_id, id, 1, 'queued', 0 FROM comparisons ORDER BY id"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def explain(engine: Engine, batch: int) -> dict[str, Any]:
    """EXPLAIN ANALYZE of one claim, rolled back."""
    with Session(engine) as session:
        statement = claim_statement(session, "bench", utcnow(), batch, 60).compile(
            dialect=engine.dialect
        )
        plan = session.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.string, statement.params
        )
        result: dict[str, Any] = plan.scalar()[0]
        session.rollback()
    return result


def buffers(node: dict[str, Any]) -> int:
    return int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))


def print_plan(node: dict[str, Any], depth: int = 0) -> None:
    where = node.get("Index Name") or node.get("Relation Name") or node.get("Alias") or ""
    print(
        f"{'  ' * depth}{node['Node Type']} {where} "
        f"rows={node.get('Actual Rows')} x{node.get('Actual Loops')} "
        f"{node.get('Actual Total Time', 0):.3f} ms"
    )
    for child in node.get("Plans", []):
        print_plan(child, depth + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--jobs", type=int, default=20, help="small jobs of 5 tasks each")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    engine = make_engine(fresh_database(DATABASE))
    upgrade(engine)
    print(f"claim of {args.batch} tasks, a huge job plus {args.jobs} jobs of 5 tasks")
    print(f"{'queued':>8} {'planning ms':>12} {'execution ms':>13} {'buffers':>8} {'claimed':>8}")
    last: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        seed(engine, size - 5 * args.jobs, args.jobs)
        seeded = time.perf_counter() - started
        runs = [explain(engine, args.batch) for _ in range(args.repeat)]
        planning = statistics.median(r["Planning Time"] for r in runs)
        execution = statistics.median(r["Execution Time"] for r in runs)
        print(
            f"{size:>8,} {planning:>12.2f} {execution:>13.2f} {buffers(runs[-1]['Plan']):>8} "
            f"{runs[-1]['Plan'].get('Actual Rows', 0):>8}   (seeded in {seeded:.1f} s)"
        )
        last = runs[-1]
    print("\nplan of the largest queue (node, relation/index, rows x loops, ms):")
    print_plan(last["Plan"])
    engine.dispose()


if __name__ == "__main__":
    main()
