"""Simulated-annotation throughput, end to end (a benchmark, not a test).

    python -m bench.annotate [--concurrency 64 256] [--processes 1] [--repeats 3]
                             [--profile DIR]

805 AlpacaEval comparisons (alpaca-7b vs gpt4_1106_preview) are queued in a fresh PostgreSQL
database (PREFARM_BENCH_PG names the server; the database `prefarm_annotate_bench`, or
PREFARM_BENCH_ANNOTATE_DATABASE, is recreated),
then judged by a real `prefarm worker --processes N` against the fake provider
(tests/fakes/llm_server.py, its own process) answering after 200 ms. The clock runs from the
moment the queued job is switched to active (workers already idle and polling) until the last
annotation is stored.

Two baselines, measured in the same run: the ideal concurrency / latency (320/s at 64, 1,280/s
at 256), and the fake provider's own ceiling on this machine: the same 805 request bodies posted
at the same concurrency by a bare aiohttp client in a second process (no database, no prompts,
no parsing). It prints annotations/s, both ratios and the CPU time per annotation of the
workers and of the fake provider (from /proc). --profile DIR records each worker with py-spy.
Targets (issue 16): >= 0.9 of ideal at concurrency 64; >= 0.8 of the provider's ceiling at 256.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.annotators.config import AnnotatorConfig
from app.annotators.judging import Pair, build_request
from app.annotators.providers.clients import ProviderClients
from app.annotators.providers.openai_chat import OpenAIChatProvider
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
    """User + system CPU time of a live process and its live descendants (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


def judge_config(name: str, url: str, concurrency: int) -> dict[str, object]:
    return {
        "name": name,
        "provider": "openai_compatible",
        "base_url": f"{url}/v1",
        "model": "fake-judge",
        "prompt": "direct_choice",
        "parser": "label",
        "max_tokens": 4,
        "max_concurrency": concurrency,
    }


def request_bodies(url: str, rows: list[ComparisonRow]) -> list[dict[str, object]]:
    """The bodies the worker sends for these rows (the same prompt, model and options)."""
    config = AnnotatorConfig.model_validate(judge_config("bare", url, 1))
    provider = OpenAIChatProvider(config, ProviderClients())
    return [
        provider.body(
            build_request(
                config,
                [Pair(r.instruction, r.input, r.output_1, r.output_2).shown(False)],
                TemplateLimits(),
            )
        )
        for r in rows
    ]


async def _post_all(url: str, bodies: list[bytes], concurrency: int) -> float:
    import aiohttp

    queue = list(reversed(bodies))
    headers = {"Content-Type": "application/json", "Authorization": "Bearer not-needed"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client() -> None:
            while queue:
                body = queue.pop()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status

        # Warm the connections up, as the workers' are by the time the clock starts.
        warm = [json.dumps({"model": "x", "messages": []}).encode()] * concurrency
        saved, queue[:] = list(queue), warm
        await asyncio.gather(*(client() for _ in range(concurrency)))
        queue[:] = saved
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - started


def bare_load(url: str, bodies_file: str, concurrency: int) -> None:
    """In a second process: post every body at `concurrency`; print the seconds taken."""
    bodies = [line.encode() for line in Path(bodies_file).read_text().splitlines()]
    seconds = asyncio.run(_post_all(f"{url}/v1/chat/completions", bodies, concurrency))
    print(json.dumps({"seconds": seconds, "requests": len(bodies)}))


def provider_ceiling(url: str, bodies_file: str, concurrency: int) -> float:
    """Requests/s the fake provider serves to a bare client in another process."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.annotate", "--bare-load", bodies_file, "--url", url,
         "--concurrency", str(concurrency)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    ).stdout  # fmt: skip
    result = json.loads(output.strip().splitlines()[-1])
    return result["requests"] / result["seconds"]


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


def run_once(  # type: ignore[no-untyped-def]
    engine, fake_pid: int, url: str, database_url: str, concurrency: int, args, run: int
):
    annotator = f"bench_c{concurrency}_r{run}"  # a new config each run: no cache hits
    with unit_of_work(engine) as session:
        register(session, judge_config(annotator, url, concurrency), TemplateLimits())
        owner_id = session.scalar(select(User.id))
    job_id = queue_job(engine, owner_id, annotator, comparisons())
    per_process = concurrency // args.processes
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": database_url,
        "PREFARM_LOG_LEVEL": "warning",
        "PREFARM_WORKER_CONCURRENCY": str(per_process),
        "PREFARM_WORKER_CLAIM_BATCH": str(min(per_process, args.claim_batch)),
        "PREFARM_WORKER_POLL_SECONDS": "0.05",
    }
    command = [*PREFARM, "worker", "--processes", str(args.processes)]
    processes = [subprocess.Popen(command, env=env)]
    try:
        time.sleep(8)  # imports and connections; the job is paused meanwhile
        if args.profile:
            workers = Path(f"/proc/{processes[0].pid}/task/{processes[0].pid}/children")
            pids = workers.read_text().split() if args.processes > 1 else [processes[0].pid]
            for pid in pids:
                out = Path(args.profile) / f"worker-c{concurrency}-r{run}-{pid}.txt"
                py_spy = str(Path(sys.executable).parent / "py-spy")
                processes.append(subprocess.Popen(
                    [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250",
                     "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ))  # fmt: skip
            time.sleep(1)
        with unit_of_work(engine) as session:
            session.execute(update(Job).where(Job.id == job_id).values(status="active"))
        cpu_before = cpu_seconds(processes[0].pid)
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
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        worker_cpu_ms = (cpu_seconds(processes[0].pid) - cpu_before) / 805 * 1000
        fake_cpu_ms = (cpu_seconds(fake_pid) - fake_before) / 805 * 1000
    finally:
        for process in processes:
            process.send_signal(2 if process is not processes[0] else 15)  # py-spy: SIGINT
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
    parser.add_argument("--processes", type=int, default=1, help="prefarm worker --processes")
    parser.add_argument("--claim-batch", type=int, default=64, help="tasks per claim, at most")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", help="write py-spy profiles of the workers to this folder")
    parser.add_argument("--bare-load", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_load:
        return bare_load(args.url, args.bare_load, args.concurrency[0])

    database_url = fresh_database(
        os.environ.get("PREFARM_BENCH_ANNOTATE_DATABASE", "prefarm_annotate_bench")
    )
    engine = make_engine(database_url)
    upgrade(engine)
    with unit_of_work(engine) as session:
        session.add(User(email="bench@example.org", role="researcher"))
    fake, url = start_fake_provider()
    bodies = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)  # noqa: SIM115
    with bodies:
        for body in request_bodies(url, comparisons()):
            bodies.write(json.dumps(body) + "\n")
    try:
        print(
            f"805 comparisons, fake provider at {LATENCY * 1000:.0f} ms, "
            f"prefarm worker --processes {args.processes}; "
            f"load average {os.getloadavg()[0]:.1f} at the start"
        )
        for concurrency in args.concurrency:
            ideal = concurrency / LATENCY
            runs, ceilings = [], []
            for run in range(args.repeats):  # interleaved, so both see the same load
                ceilings.append(provider_ceiling(url, bodies.name, concurrency))
                runs.append(run_once(engine, fake.pid, url, database_url, concurrency, args, run))
            rates = [rate for rate, _, _ in runs]
            median, ceiling = statistics.median(rates), statistics.median(ceilings)
            print(
                f"concurrency {concurrency:4d}: {median:7.1f} annotations/s (median of "
                f"{', '.join(f'{r:.0f}' for r in rates)}); ideal {ideal:.0f}/s, ratio "
                f"{median / ideal:.2f}; provider ceiling {ceiling:.0f}/s (median of "
                f"{', '.join(f'{c:.0f}' for c in ceilings)}), ratio {median / ceiling:.2f}; "
                f"CPU per annotation: workers "
                f"{statistics.median(cpu for _, cpu, _ in runs):.2f} ms, fake provider "
                f"{statistics.median(cpu for _, _, cpu in runs):.2f} ms; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        engine.dispose()
        os.unlink(bodies.name)


if __name__ == "__main__":
    main()
