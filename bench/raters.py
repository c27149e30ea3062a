"""Rating under load: many raters at once on a PostgreSQL job of 100,000 comparisons, k = 3.

Each rater is an HTTP client with its own cookies that logs in through the login page and then
loops "next" (GET the rating page, which leases a comparison) and "submit" (POST the form with
its CSRF token) as fast as it can (or with --think-ms between judgments). Prints p50/p99 of both,
throughput, the same figures for GET /healthz at the same concurrency right after (the floor of
the stack, as baseline), and checks that no comparison got more than k judgments and no rater
judged one twice.

    python bench/raters.py [--raters 50] [--comparisons 100000] [--k 3] [--seconds 30]
                           [--think-ms 0] [--warmup-seconds 5] [--workers 2]
                           [--growth 10000,100000,1000000] [--shared-postgres]

It runs its own PostgreSQL server (initdb in a temporary directory, `pg_stat_statements`
loaded) unless --shared-postgres, and prints the CPU per judgment of the API processes and of
PostgreSQL read from /proc over the measured window, and the statements that cost the most.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import time
from dataclasses import dataclass, field

import httpx
import orjson
import psycopg
from sqlalchemy import text

from app.accounts.secrets import hash_password
from app.accounts.service import create_user
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.db.models import RaterJob
from app.db.session import unit_of_work
from bench.common import (
    PG_ADMIN_URL,
    fresh_database,
    private_postgres,
    researcher_token,
    served,
)
from bench.processes import load_average, pid_with_arguments, tree_cpu_seconds

# Another name lets two checkouts measure side by side on one PostgreSQL server.
DATABASE = os.environ.get("PREFARM_BENCH_RATERS_DATABASE", "prefarm_web_bench")
PASSWORD = "bench rater password"
TARGET_P99_MS = 50.0
TARGET_THROUGHPUT = 150
TARGET_CPU_MS = 10.0
SEED_CHUNK = 100_000
_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
_ASSIGNMENT = re.compile(rb'name="assignment_id" value="(\d+)"')


@dataclass
class Timings:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def seed(url: str, token: str, comparisons: int, k: int) -> int:
    """A human-routed job with `comparisons` rows, posted through the bulk API as NDJSON."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        job = client.post(
            "/api/v1/jobs",
            json={"name": "rater bench", "routing": {"policy": "human"}, "human_overlap": k},
        )
        job.raise_for_status()
        job_id = job.json()["id"]
        started = time.perf_counter()
        for first in range(0, comparisons, SEED_CHUNK):
            body = b"\n".join(
                orjson.dumps(
                    {
                        "id": f"r{n}",
                        "instruction": f"Explain item {n} in two sentences.",
                        "output_1": f"**Item {n}** is explained here.\n\n- point one\n- point two",
                        "output_2": f"Item {n}:\n\n```python\nprint({n})\n```",
                        "generator_1": "model-a",
                        "generator_2": "model-b",
                    }
                )
                for n in range(first, min(first + SEED_CHUNK, comparisons))
            )
            response = client.post(
                f"/api/v1/jobs/{job_id}/comparisons",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
            )
            response.raise_for_status()
        print(f"seeded {comparisons:,} comparisons in {time.perf_counter() - started:.1f} s")
    return job_id


def make_raters(database_url: str, job_id: int, count: int) -> list[str]:
    engine = make_engine(database_url)
    password_hash = hash_password(PASSWORD)  # one argon2 hash, shared: the bench is not about it
    emails = [f"rater{n}@bench.example.org" for n in range(count)]
    with unit_of_work(engine) as session:
        for email in emails:
            user = create_user(session, email, "rater")
            user.password_hash = password_hash
            session.add(RaterJob(user_id=user.id, job_id=job_id))
    engine.dispose()
    return emails


def vacuum_analyze(database_url: str) -> None:
    """Fresh statistics for the planner, as a job that has sat for a while has them."""
    engine = make_engine(database_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


async def log_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    csrf = _CSRF.search(page.content)
    assert csrf, "no CSRF token on the login page"
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1).decode()}
    )
    assert response.status_code == 303, response.text


async def rate(
    client: httpx.AsyncClient,
    job_id: int,
    measure_from: float,
    until: float,
    think: float,
    timings: Timings,
) -> int:
    """Rate until `until`; latencies and judgments count from `measure_from` (after warm-up)."""
    judged = 0
    if think:  # raters do not all arrive in the same millisecond
        await asyncio.sleep(random.uniform(0, think))
    while time.perf_counter() < until:
        started = time.perf_counter()
        measured = started >= measure_from
        page = await client.get(f"/rate/{job_id}")
        if measured:
            timings.next_ms.append((time.perf_counter() - started) * 1000)
        assignment = _ASSIGNMENT.search(page.content)
        if page.status_code != 200 or assignment is None:
            timings.errors.append(f"next {page.status_code}: no comparison served")
            return judged
        csrf = _CSRF.search(page.content)
        assert csrf is not None
        form = {
            "csrf_token": csrf.group(1).decode(),
            "assignment_id": assignment.group(1).decode(),
            "action": "submit",
            "choice": random.choice(("A", "B", "tie", "both_bad")),
        }
        started = time.perf_counter()
        response = await client.post(f"/rate/{job_id}/judgments", data=form)
        if measured:
            timings.submit_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 303:
            timings.errors.append(f"submit {response.status_code}: {response.text[:200]}")
        elif measured:
            judged += 1
        if think:
            await asyncio.sleep(random.uniform(0.5, 1.5) * think)
    return judged


async def hammer_healthz(clients: list[httpx.AsyncClient], seconds: float) -> list[float]:
    """The floor: an empty request through the same server at the same concurrency (with the
    raters' own clients: making 50 new ones would stall the event loop on TLS set-up)."""
    latencies: list[float] = []
    until = time.perf_counter() + seconds

    async def loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < until:
            started = time.perf_counter()
            (await client.get("/healthz")).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(loop(client) for client in clients))
    return latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def verify(database_url: str, job_id: int, k: int) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        most = connection.execute(
            text(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM annotations "
                "WHERE job_id = :job GROUP BY comparison_id) per_comparison"
            ),
            {"job": job_id},
        ).scalar_one()
        repeats = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM annotations WHERE job_id = :job "
                "GROUP BY comparison_id, annotator_id HAVING count(*) > 1) twice"
            ),
            {"job": job_id},
        ).scalar_one()
        drift = connection.execute(
            text(
                "SELECT count(*) FROM comparisons c WHERE c.job_id = :job AND c.human_claims <> "
                "(SELECT count(*) FROM assignments a WHERE a.comparison_id = c.id "
                "AND a.status IN ('leased', 'submitted'))"
            ),
            {"job": job_id},
        ).scalar_one()
        stuck = connection.execute(
            text(
                "SELECT count(*) FROM comparisons c WHERE c.job_id = :job AND c.status = 'pending' "
                "AND (SELECT count(*) FROM annotations a WHERE a.comparison_id = c.id) >= :k"
            ),
            {"job": job_id, "k": k},
        ).scalar_one()
        total = connection.execute(
            text("SELECT count(*) FROM annotations WHERE job_id = :job"), {"job": job_id}
        ).scalar_one()
    engine.dispose()
    print(f"stored judgments: {total:,}; most judgments of one comparison: {most} (k = {k})")
    print(f"comparisons judged twice by one rater: {repeats}; claim counters off: {drift}")
    print(f"comparisons with k judgments still pending: {stuck}")
    if most > k or repeats or drift or stuck:
        raise SystemExit(
            "FAILED: a comparison exceeded k, a rater judged one twice, or one with k judgments"
            " is still pending"
        )
    print(
        "checks passed: no comparison above k, no rater judged a comparison twice, every"
        " comparison with k judgments is done"
    )


def report(name: str, values: list[float], baseline_p99: float) -> None:
    p50, p99 = statistics.median(values), percentile(values, 99)
    print(
        f"{name:<8} n={len(values):>7,}  p50={p50:6.1f} ms  p99={p99:6.1f} ms  "
        f"(p99 {p99 / baseline_p99:4.1f}x the /healthz floor; target p99 <= {TARGET_P99_MS:.0f} ms:"
        f" {'met' if p99 <= TARGET_P99_MS else 'NOT met'})"
    )


@dataclass
class CpuWindow:
    """CPU seconds of the API processes and of PostgreSQL over the measured window."""

    api_pid: int
    postgres_pid: int | None
    api: float = 0.0
    postgres: float = 0.0

    def start(self) -> None:
        self.api = -tree_cpu_seconds(self.api_pid)
        self.postgres = -tree_cpu_seconds(self.postgres_pid) if self.postgres_pid else 0.0

    def stop(self) -> None:
        self.api += tree_cpu_seconds(self.api_pid)
        self.postgres += tree_cpu_seconds(self.postgres_pid) if self.postgres_pid else 0.0


def reset_statement_statistics(database_url: str) -> None:
    with psycopg.connect(_libpq(database_url), autocommit=True) as connection:
        connection.execute("SELECT pg_stat_statements_reset()")


def _libpq(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def print_top_statements(database_url: str, judgments: int, top: int = 12) -> None:
    """pg_stat_statements over the measured window: the statements that cost the most."""
    with psycopg.connect(_libpq(database_url), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT calls, total_exec_time + total_plan_time, query FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY 2 DESC"
        ).fetchall()
    calls = sum(row[0] for row in rows)
    print(
        f"\npg_stat_statements: {calls / max(judgments, 1):.1f} statements per judgment; "
        f"top {top} by time (ms per judgment, calls per judgment, statement):"
    )
    for count, total_ms, query in rows[:top]:
        shown = " ".join(query.split())[:150]
        print(
            f"  {total_ms / max(judgments, 1):6.2f} ms  {count / max(judgments, 1):5.2f}  {shown}"
        )


@dataclass
class Run:
    timings: Timings
    alone: Timings  # one rater on the idle server before the others start
    floor: list[float]  # /healthz at the same concurrency right after
    elapsed: float
    judged: int
    cpu: CpuWindow
    job_id: int

    def cpu_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(self.judged, 1)


async def measure(
    args: argparse.Namespace, comparisons: int, database_url: str, postgres_pid: int | None
) -> Run:
    token = researcher_token(database_url)
    with served(database_url, workers=args.workers) as url:
        job_id = seed(url, token, comparisons, args.k)
        emails = make_raters(database_url, job_id, args.raters)
        vacuum_analyze(database_url)
        cpu = CpuWindow(pid_with_arguments("serve", "--port", url.rsplit(":", 1)[1]), postgres_pid)
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, never raced.
        limits = httpx.Limits(keepalive_expiry=2.0)
        clients = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for _ in emails]
        for client, email in zip(clients, emails, strict=True):  # argon2: one login at a time
            await log_in(client, email)
        alone = Timings()  # one rater on an idle server: the service time itself
        await rate(clients[0], job_id, 0.0, time.perf_counter() + 3, 0.0, alone)
        timings = Timings()
        measure_from = time.perf_counter() + args.warmup_seconds
        until = measure_from + args.seconds
        think = args.think_ms / 1000

        async def window() -> None:
            await asyncio.sleep(measure_from - time.perf_counter())
            if postgres_pid:
                reset_statement_statistics(database_url)
            cpu.start()
            await asyncio.sleep(until - time.perf_counter())
            cpu.stop()

        judged, _ = await asyncio.gather(
            asyncio.gather(
                *(rate(c, job_id, measure_from, until, think, timings) for c in clients)
            ),
            window(),
        )
        elapsed = time.perf_counter() - measure_from
        floor = await hammer_healthz(clients, min(5.0, args.seconds))
        for client in clients:
            await client.aclose()
    return Run(timings, alone, floor, elapsed, sum(judged), cpu, job_id)


def prepare_database(admin_url: str, statement_statistics: bool) -> str:
    database_url = fresh_database(DATABASE, admin_url)
    upgrade(make_engine(database_url))
    if statement_statistics:
        with psycopg.connect(_libpq(database_url), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return database_url


async def growth(args: argparse.Namespace, admin_url: str, postgres_pid: int | None) -> None:
    """The same cycle on jobs of each size, one after the other: how cost grows with the job."""
    rows = []
    for size in args.growth:
        database_url = prepare_database(admin_url, postgres_pid is not None)
        load = load_average()
        result = await measure(args, size, database_url, postgres_pid)
        verify(database_url, result.job_id, args.k)
        rows.append((size, result, load))
    print(
        f"\ngrowth: {args.raters} raters back to back, {args.seconds:.0f} s each, k = {args.k}"
        "\n| comparisons | judgments/s | CPU ms per judgment (API + PostgreSQL) "
        "| next p50 / p99 ms | submit p50 / p99 ms | load average at start |"
        "\n|---|---|---|---|---|---|"
    )
    for size, result, load in rows:
        t = result.timings
        print(
            f"| {size:,} | {result.judged / result.elapsed:,.0f} | "
            f"{result.cpu_ms(result.cpu.api + result.cpu.postgres):.1f} "
            f"({result.cpu_ms(result.cpu.api):.1f} + {result.cpu_ms(result.cpu.postgres):.1f}) | "
            f"{statistics.median(t.next_ms):.1f} / {percentile(t.next_ms, 99):.1f} | "
            f"{statistics.median(t.submit_ms):.1f} / {percentile(t.submit_ms, 99):.1f} | {load} |"
        )


async def run(args: argparse.Namespace, admin_url: str, postgres_pid: int | None) -> None:
    if args.growth:
        await growth(args, admin_url, postgres_pid)
        return
    database_url = prepare_database(admin_url, postgres_pid is not None)
    load_before = load_average()
    result = await measure(args, args.comparisons, database_url, postgres_pid)
    timings, alone, floor, elapsed, total, cpu = (
        result.timings,
        result.alone,
        result.floor,
        result.elapsed,
        result.judged,
        result.cpu,
    )
    if timings.errors:
        print(f"errors: {len(timings.errors)}, first: {timings.errors[:3]}")
    floor_p99 = percentile(floor, 99)
    print(
        f"\n{args.raters} raters, {args.comparisons:,} comparisons, k = {args.k}, "
        f"{args.workers} server process(es), think time {args.think_ms} ms, {elapsed:.1f} s; "
        f"load average {load_before} before, {load_average()} after"
    )
    floor_p50 = statistics.median(floor)
    print(f"/healthz  n={len(floor):>7,}  p50={floor_p50:6.1f} ms  p99={floor_p99:6.1f} ms")
    print(
        f"one rater alone: next p50 {statistics.median(alone.next_ms):.1f} ms, "
        f"submit p50 {statistics.median(alone.submit_ms):.1f} ms ({len(alone.next_ms)} judgments)"
    )
    report("next", timings.next_ms, floor_p99)
    report("submit", timings.submit_ms, floor_p99)
    print(
        f"throughput: {total / elapsed:,.0f} judgments/s "
        f"({(len(timings.next_ms) + len(timings.submit_ms)) / elapsed:,.0f} requests/s; "
        f"target back to back >= {TARGET_THROUGHPUT}/s)"
    )
    per_judgment = (cpu.api + cpu.postgres) * 1000 / max(total, 1)
    pg_part = (
        f"PostgreSQL {cpu.postgres * 1000 / max(total, 1):.1f} ms"
        if postgres_pid
        else "PostgreSQL not measured (shared server)"
    )
    print(
        f"CPU per judgment: {per_judgment:.1f} ms (API processes "
        f"{cpu.api * 1000 / max(total, 1):.1f} ms, {pg_part}; target <= {TARGET_CPU_MS:.0f} ms: "
        f"{'met' if per_judgment <= TARGET_CPU_MS else 'NOT met'})"
    )
    if postgres_pid:
        print_top_statements(database_url, total)
    verify(database_url, result.job_id, args.k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--comparisons", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause per judgment")
    parser.add_argument("--warmup-seconds", type=float, default=5.0, help="run, not measured")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--shared-postgres",
        action="store_true",
        help="use PREFARM_BENCH_PG's server (no PostgreSQL CPU or statement figures)",
    )
    parser.add_argument(
        "--growth",
        type=lambda value: [int(size) for size in value.split(",")],
        help="job sizes to run one after the other, e.g. 10000,100000,1000000",
    )
    args = parser.parse_args()
    if args.shared_postgres:
        asyncio.run(run(args, PG_ADMIN_URL, None))
        return
    with private_postgres() as postgres:
        asyncio.run(run(args, postgres.admin_url, postgres.pid))


if __name__ == "__main__":
    main()
