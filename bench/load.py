"""Shared use under load for a bounded minute on PostgreSQL: raters, workers and a bulk ingest at
once, and no errors.

`prefarm serve --workers 2` serves 50 raters (each its own HTTP client: log in, then "next" and
"submit" in a loop, pausing --think-ms on average) on a human-routed job, while a researcher's
client bulk-loads comparisons (NDJSON batches of --batch rows, one after another) into a
simulated job that two `prefarm worker` processes judge through the real OpenAI SDK against
the fake provider (200 ms a call). Prints p50 / p99 of "next", "submit" and an ingest batch,
the judgments per second of raters and workers, and every error: a rater or ingest answer
that is not the expected one, a worker log line at error level. Exits non-zero on any error.

    python bench/load.py [--raters 50] [--seconds 60] [--think-ms 1000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from app.annotators.registry import register
from app.annotators.sandbox import TemplateLimits
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.db.models import Annotation
from app.db.session import unit_of_work
from bench.common import PREFARM, fresh_database, researcher_token, served
from bench.raters import Timings, log_in, make_raters, percentile, rate, seed, vacuum_analyze

DATABASE = "prefarm_shared_load_bench"
LATENCY = 0.2


def start_fake_provider() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm_server", "--latency", str(LATENCY)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()  # type: ignore[union-attr]


def simulated_job(database_url: str, url: str, token: str, fake_url: str) -> int:
    with unit_of_work(make_engine(database_url)) as session:
        register(
            session,
            {
                "name": "load_judge",
                "provider": "openai_compatible",
                "base_url": f"{fake_url}/v1",
                "model": "fake-judge",
                "prompt": "direct_choice",
                "parser": "label",
                "max_tokens": 4,
                "max_concurrency": 64,
            },
            TemplateLimits(),
        )
    response = httpx.post(
        f"{url}/api/v1/jobs",
        json={"name": "load: simulated", "annotators": ["load_judge"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()
    return int(response.json()["id"])


async def ingest(
    url: str, token: str, job_id: int, batch: int, until: float, latencies: list[float]
) -> list[str]:
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        number = 0
        while time.perf_counter() < until:
            body = b"\n".join(
                orjson.dumps(
                    {
                        "id": f"s{number + n}",
                        "instruction": f"Load question {number + n}: explain it briefly.",
                        "output_1": f"A short answer to {number + n}.",
                        "output_2": f"A longer answer to question {number + n}, with details.",
                    }
                )
                for n in range(batch)
            )
            number += batch
            started = time.perf_counter()
            response = await client.post(f"/api/v1/jobs/{job_id}/comparisons", content=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors.append(f"ingest {response.status_code}: {response.text[:200]}")
    return errors


def count_judgments(database_url: str, job_id: int) -> int:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        total = connection.scalar(
            select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
        )
    engine.dispose()
    return int(total or 0)


def line(name: str, values: list[float]) -> str:
    if len(values) < 2:
        return f"{name:<7} n={len(values)}"
    return (
        f"{name:<7} n={len(values):>6,}  p50={statistics.median(values):7.1f} ms  "
        f"p99={percentile(values, 99):7.1f} ms  max={max(values):7.1f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    database_url = fresh_database(DATABASE)
    upgrade(make_engine(database_url))
    token = researcher_token(database_url)
    fake, fake_url = start_fake_provider()
    with tempfile.TemporaryFile("w+") as worker_logs:
        await measure(args, database_url, token, fake_url, fake, worker_logs)


async def measure(
    args: argparse.Namespace,
    database_url: str,
    token: str,
    fake_url: str,
    fake: subprocess.Popen[str],
    worker_logs: Any,
) -> None:
    try:
        with served(database_url, workers=2) as url:
            human_job = seed(url, token, args.comparisons, args.k)
            emails = make_raters(database_url, human_job, args.raters)
            job_id = simulated_job(database_url, url, token, fake_url)
            vacuum_analyze(database_url)
            env = {
                **os.environ,
                "PREFARM_DATABASE_URL": database_url,
                "PREFARM_LOG_LEVEL": "warning",
                "PREFARM_LOG_FORMAT": "text",
                "PREFARM_WORKER_CONCURRENCY": "64",
            }
            workers = [
                subprocess.Popen(
                    [*PREFARM, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=worker_logs
                )
                for _ in range(2)
            ]
            limits = httpx.Limits(keepalive_expiry=2.0)
            clients = [httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for _ in emails]
            for client, email in zip(clients, emails, strict=True):
                await log_in(client, email)
            await asyncio.sleep(5)  # the workers' imports
            timings = Timings()
            ingest_ms: list[float] = []
            before = count_judgments(database_url, job_id)
            started = time.perf_counter()
            until = started + args.seconds
            think = args.think_ms / 1000
            results = await asyncio.gather(
                ingest(url, token, job_id, args.batch, until, ingest_ms),
                *(rate(c, human_job, started, until, think, timings) for c in clients),
            )
            elapsed = time.perf_counter() - started
            judged_by_workers = count_judgments(database_url, job_id) - before
            for client in clients:
                await client.aclose()
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    ingest_errors, judged = results[0], sum(results[1:])
    worker_logs.seek(0)
    worker_errors = [
        entry.strip() for entry in worker_logs if " ERROR " in entry or "Traceback" in entry
    ]
    load = os.getloadavg()
    print(
        f"{args.raters} raters (think {args.think_ms:.0f} ms), 2 workers, bulk ingest of "
        f"{args.batch}-row batches, {elapsed:.0f} s on PostgreSQL, 2 server processes"
    )
    print(line("next", timings.next_ms))
    print(line("submit", timings.submit_ms))
    print(line("ingest", ingest_ms) + f"  ({len(ingest_ms) * args.batch:,} comparisons)")
    print(
        f"raters: {judged / elapsed:.1f} judgments/s; workers: "
        f"{judged_by_workers / elapsed:.1f} judgments/s"
    )
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    errors = [*timings.errors, *ingest_errors, *worker_errors]
    print(f"errors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    if errors:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--comparisons", type=int, default=20_000, help="of the human job")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think-ms", type=float, default=1000.0, help="mean pause per judgment")
    parser.add_argument("--batch", type=int, default=1000, help="rows per ingest request")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
