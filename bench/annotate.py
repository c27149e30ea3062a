"""Simulated-annotation throughput, end to end (a benchmark, not a test).

    python bench/annotate.py [--concurrency 64 256] [--workers 1] [--repeats 3]

805 AlpacaEval comparisons (alpaca-7b vs gpt4_1106_preview) are queued in a fresh PostgreSQL
database (PREFARM_BENCH_PG names the server; the database `prefarm_annotate_bench` is recreated),
then judged by real `prefarm worker` processes through the real OpenAI SDK against the fake
provider (tests/fakes/llm_server.py, its own process) answering after 200 ms. The clock runs from
the moment the queued job is switched to active (workers already idle and polling) until the
last annotation is stored. It prints annotations/s and the ratio to the ideal
concurrency / latency (320/s at 64, 1,280/s at 256).
Targets: >= 90 % of ideal at concurrency 64; >= 1,000 annotations/s at 256.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.annotators.registry import register
from app.annotators.sandbox import TemplateLimits
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.db.models import Annotation, Job, Task, User
from app.db.session import unit_of_work
from app.ingest.comparisons import store_comparisons
from app.ingest.rows import ComparisonRow
from bench.common import PREFARM, alpaca_outputs, fresh_database

LATENCY = 0.2
GENERATORS = ("alpaca-7b", "gpt4_1106_preview")


def comparisons() -> list[ComparisonRow]:
    by_instruction: dict[str, dict[str, str]] = {}
    for row in alpaca_outputs():
        by_instruction.setdefault(row["instruction"], {})[row["generator"]] = row["output"]
    rows = [
        ComparisonRow(
            id=f"ae{i}",
            instruction=instruction,
            output_1=outputs[GENERATORS[0]],
            output_2=outputs[GENERATORS[1]],
            generator_1=GENERATORS[0],
            generator_2=GENERATORS[1],
        )
        for i, (instruction, outputs) in enumerate(by_instruction.items())
        if all(g in outputs for g in GENERATORS)
    ]
    assert len(rows) == 805, len(rows)
    return rows


def start_fake_provider() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm_server", "--latency", str(LATENCY)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()  # type: ignore[union-attr]
    return process, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queue_job(engine, owner_id: int, annotator: str, rows: list[ComparisonRow]) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as session:
        job = Job(
            owner_id=owner_id,
            name=f"bench {annotator}",
            routing={"policy": "simulated"},
            annotators=[annotator],
            seed=1,
            status="paused",  # queued, but not claimable until the clock starts
        )
        session.add(job)
        session.flush()
        job_id = job.id
    with unit_of_work(engine) as session:
        store_comparisons(session, session.get(Job, job_id), rows)  # type: ignore[arg-type]
    return job_id


def run_once(
    engine, fake_pid: int, url: str, database_url: str, concurrency: int, workers: int, run: int
):  # type: ignore[no-untyped-def]
    annotator = f"bench_c{concurrency}_r{run}"  # a new config each run: no cache hits
    with unit_of_work(engine) as session:
        register(
            session,
            {
                "name": annotator,
                "provider": "openai_compatible",
                "base_url": f"{url}/v1",
                "model": "fake-judge",
                "prompt": "direct_choice",
                "parser": "label",
                "max_tokens": 4,
                "max_concurrency": concurrency,
            },
            TemplateLimits(),
        )
        owner_id = session.scalar(select(User.id))
    job_id = queue_job(engine, owner_id, annotator, comparisons())
    per_worker = concurrency // workers
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": database_url,
        "PREFARM_LOG_LEVEL": "warning",
        "PREFARM_WORKER_CONCURRENCY": str(per_worker),
        "PREFARM_WORKER_CLAIM_BATCH": str(min(per_worker, 256)),
        "PREFARM_WORKER_POLL_SECONDS": "0.05",
    }
    processes = [subprocess.Popen([*PREFARM, "worker"], env=env) for _ in range(workers)]
    try:
        time.sleep(8)  # imports and connections; the job is paused meanwhile
        with unit_of_work(engine) as session:
            session.execute(update(Job).where(Job.id == job_id).values(status="active"))
        cpu_before = sum(cpu_seconds(p.pid) for p in processes)
        fake_before = cpu_seconds(fake_pid)
        started = time.perf_counter()
        while True:
            with engine.connect() as connection:
                done = connection.scalar(
                    select(func.count())
                    .select_from(Task)
                    .where(Task.job_id == job_id, Task.status == "done")
                )
            if done == 805:
                break
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"only {done} of 805 tasks done after 120 s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        worker_cpu_ms = (sum(cpu_seconds(p.pid) for p in processes) - cpu_before) / 805 * 1000
        fake_cpu_ms = (cpu_seconds(fake_pid) - fake_before) / 805 * 1000
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    with engine.connect() as connection:
        stored = connection.scalar(
            select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
        )
    assert stored == 805, stored
    return 805 / elapsed, worker_cpu_ms, fake_cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--workers", type=int, default=1, help="worker processes per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    database_url = fresh_database("prefarm_annotate_bench")
    engine = make_engine(database_url)
    upgrade(engine)
    with unit_of_work(engine) as session:
        session.add(User(email="bench@example.org", role="researcher"))
    fake, url = start_fake_provider()
    try:
        print(
            f"805 comparisons, fake provider at {LATENCY * 1000:.0f} ms, "
            f"{args.workers} worker process(es)"
        )
        for concurrency in args.concurrency:
            ideal = concurrency / LATENCY
            runs = [
                run_once(engine, fake.pid, url, database_url, concurrency, args.workers, run)
                for run in range(args.repeats)
            ]
            rates = [rate for rate, _, _ in runs]
            median = statistics.median(rates)
            print(
                f"concurrency {concurrency:4d}: {median:7.1f} annotations/s (median of "
                f"{', '.join(f'{r:.0f}' for r in rates)}); ideal {ideal:.0f}/s; "
                f"ratio {median / ideal:.2f}; CPU per annotation: workers "
                f"{statistics.median(cpu for _, cpu, _ in runs):.2f} ms, fake provider "
                f"{statistics.median(cpu for _, _, cpu in runs):.2f} ms"
            )
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        engine.dispose()


if __name__ == "__main__":
    main()
