"""Faults as a bounded run: nothing is lost or duplicated, and the money adds up.

1,000 simulated-annotation tasks are judged by three real `prefarm worker` processes through
the real OpenAI SDK against the fake provider, which fails 30 % of calls (429, 500, or hanging
past the client's timeout). Meanwhile the bench kills a worker with SIGKILL three times while
it holds leases (starting a replacement each time) and restarts PostgreSQL once.

PostgreSQL is a throw-away cluster of the bench's own (initdb under /tmp, its own port), so the
restart touches nothing else. Afterwards it prints, from the database:
lost (tasks neither done nor failed), duplicated (more than one judgment per task), failed
tasks without a reason, and the job's recorded spend against the sum of its judgments' costs
(and the provider's bill, which also counts calls a killed worker paid for and never wrote).

    python bench/faults.py [--tasks 1000] [--workers 3] [--fault-rate 0.3] [--timeout 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.annotators.registry import register
from app.annotators.sandbox import TemplateLimits
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.db.models import Annotation, Job, Task, User
from app.db.session import unit_of_work
from app.ingest.comparisons import store_comparisons
from app.ingest.rows import ComparisonRow
from bench.common import PREFARM, free_port
from tests.fakes.llm_server import FakeLLM

PG_BIN = Path(os.environ.get("PREFARM_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PRICE_IN, PRICE_OUT = 1.0, 5.0  # USD per million tokens
LEASE_SECONDS = 15  # longer than the restart: only killed workers' leases lapse


class OwnCluster:
    """A PostgreSQL cluster in a temporary folder, run as the `postgres` user when we are root
    (initdb refuses root)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="prefarm_faults_pg_"))
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", *extra, action,
        )  # fmt: skip

    def start(self) -> str:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self._pg_ctl("start")
        self._run(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "faults",
        )  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/faults"

    def restart(self) -> float:
        started = time.perf_counter()
        self._pg_ctl("restart", "-m", "fast")
        return time.perf_counter() - started

    def destroy(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def seed(engine: Engine, fake_url: str, tasks: int) -> int:
    with unit_of_work(engine) as session:
        owner = User(email="faults@example.org", role="researcher")
        session.add(owner)
        register(
            session,
            {
                "name": "faulty_judge",
                "provider": "openai_compatible",
                "base_url": f"{fake_url}/v1",
                "model": "fake-judge",
                "prompt": "direct_choice",
                "parser": "label",
                "max_tokens": 4,
                "timeout_s": 1,
                "max_attempts": 12,
                "price_per_mtok_input": PRICE_IN,
                "price_per_mtok_output": PRICE_OUT,
            },
            TemplateLimits(),
        )
        session.flush()
        job = Job(
            owner_id=owner.id,
            name="faults",
            routing={"policy": "simulated"},
            annotators=["faulty_judge"],
            seed=1,
            status="paused",
        )
        session.add(job)
        session.flush()
        job_id = job.id
    rows = [
        ComparisonRow(
            id=f"f{n}",
            instruction=f"Question {n}: which answer is right?",
            output_1=f"Answer {n} [better]" if n % 2 else f"Answer {n} [worse!]",
            output_2=f"Answer {n} [worse!]" if n % 2 else f"Answer {n} [better]",
        )
        for n in range(tasks)
    ]
    with unit_of_work(engine) as session:
        store_comparisons(session, session.get_one(Job, job_id), rows)
        session.execute(text("UPDATE jobs SET status = 'active' WHERE id = :j"), {"j": job_id})
    return job_id


def start_worker(database_url: str, fake_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": database_url,
        "PREFARM_LOG_LEVEL": "warning",
        "PREFARM_WORKER_CONCURRENCY": "8",
        "PREFARM_WORKER_CLAIM_BATCH": "8",
        "PREFARM_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        "PREFARM_WORKER_POLL_SECONDS": "0.2",
        "PREFARM_WORKER_RETRY_BASE_SECONDS": "0.2",
        "PREFARM_WORKER_RETRY_MAX_SECONDS": "2",
        "OPENAI_API_KEY": "sk-fake",
    }
    return subprocess.Popen(
        [*PREFARM, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def held_by(engine: Engine, pid: int) -> int:
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(Task)
                    .where(Task.status == "running", Task.leased_by.like(f"%:{pid}:%"))
                )
                or 0
            )
    except SQLAlchemyError:
        return 0


def counts(engine: Engine, job_id: int) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(
            connection.execute(  # type: ignore[arg-type]
                select(Task.status, func.count()).where(Task.job_id == job_id).group_by(Task.status)
            ).all()
        )


def wait_for_leases(engine: Engine, worker: subprocess.Popen[bytes], deadline: float) -> int:
    while time.monotonic() < deadline:
        held = held_by(engine, worker.pid)
        if held:
            return held
        time.sleep(0.1)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=300, help="give up after this long")
    args = parser.parse_args()

    cluster = OwnCluster()
    fake = FakeLLM(
        latency=0.3,
        fault_rate=args.fault_rate,
        fault_kinds=("429", "500", "timeout"),
        hang_seconds=3,
        seed=11,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        database_url = cluster.start()
        fake_url = fake.start()
        engine = make_engine(database_url)
        upgrade(engine)
        job_id = seed(engine, fake_url, args.tasks)
        print(f"{args.tasks} tasks, {args.workers} workers, provider failing {args.fault_rate:.0%}")
        started = time.monotonic()
        deadline = started + args.timeout
        workers = [start_worker(database_url, fake_url) for _ in range(args.workers)]
        events: list[str] = []
        for kill in range(3):
            victim = workers[kill % len(workers)]
            held = wait_for_leases(engine, victim, deadline)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers[kill % len(workers)] = start_worker(database_url, fake_url)
            events.append(
                f"{time.monotonic() - started:5.1f} s  kill -9 of a worker holding {held} leases"
            )
            if kill == 1:
                time.sleep(2)
                down = cluster.restart()
                events.append(
                    f"{time.monotonic() - started:5.1f} s  PostgreSQL restarted ({down:.1f} s)"
                )
            time.sleep(3)
        while time.monotonic() < deadline:
            try:
                state = counts(engine, job_id)
            except SQLAlchemyError:
                state = {"queued": 1}
            if not state.get("queued") and not state.get("running"):
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        report(engine, job_id, args.tasks, fake, events, elapsed)
        engine.dispose()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        fake.stop()
        cluster.destroy()


def report(
    engine: Engine, job_id: int, tasks: int, fake: FakeLLM, events: list[str], elapsed: float
) -> None:
    with engine.connect() as connection:
        state = counts(engine, job_id)
        duplicated = connection.scalar(
            text(
                "SELECT COUNT(*) FROM (SELECT comparison_id, annotator_id FROM annotations "
                "WHERE job_id = :j GROUP BY comparison_id, annotator_id HAVING COUNT(*) > 1) d"
            ),
            {"j": job_id},
        )
        judgments = connection.scalar(
            select(func.count()).select_from(Annotation).where(Annotation.job_id == job_id)
        )
        no_reason = connection.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.job_id == job_id, Task.status == "failed", Task.last_error.is_(None))
        )
        spent = connection.scalar(select(Job.spent_usd).where(Job.id == job_id)) or 0.0
        costs = connection.scalar(
            select(func.coalesce(func.sum(Annotation.cost_usd), 0.0)).where(
                Annotation.job_id == job_id
            )
        )
        reasons = connection.execute(
            select(Task.last_error, func.count())
            .where(Task.job_id == job_id, Task.status == "failed")
            .group_by(Task.last_error)
        ).all()
    done, failed = state.get("done", 0), state.get("failed", 0)
    lost = tasks - done - failed
    bill = sum(p * PRICE_IN + c * PRICE_OUT for p, c in fake.billed) / 1e6
    print(*events, sep="\n")
    answered = dict(sorted(fake.statuses.items()))
    timeouts = len(fake.requests) - sum(answered.values())
    print(f"finished in {elapsed:.1f} s; provider answers: {answered}, timeouts: {timeouts}")
    print(f"done {done}, failed {failed} ({failed - (no_reason or 0)} with a reason)")
    for reason, count in reasons:
        print(f"  failed x{count}: {reason}")
    print(f"lost {lost}")
    print(f"duplicated {duplicated} (judgments {judgments} for {done} done tasks)")
    print(
        f"spend recorded ${spent:.9f}, sum of judgment costs ${costs:.9f}: "
        f"{'equal' if abs(spent - costs) < 1e-9 else 'DIFFERENT'}"
    )
    print(
        f"provider's bill ${bill:.9f} (it also counts {len(fake.billed)} answered calls, "
        "some paid by killed workers before they could write)"
    )
    ok = lost == 0 and duplicated == 0 and judgments == done and not no_reason
    ok = ok and abs(spent - costs) < 1e-9
    print("OK" if ok else "FAILED")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
