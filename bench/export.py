"""Export and statistics benchmark on PostgreSQL (a benchmark, not a test).

    PREFARM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/prefarm_bench \
        python bench/export.py [--annotations 1000000] [--stats-annotations 100000]

The database named there is emptied and re-seeded. It prints, for the `annotations` JSONL export
and the `trl` export of a job with --annotations judgments: lines/s, judgments/s and peak memory
(each export runs in a fresh process; peak = that process's max RSS), with the ratio to a baseline
measured in the same run: PostgreSQL's own `COPY (SELECT ...) TO STDOUT` of the same rows.
Then the wall time of `GET /api/v1/jobs/{id}/stats` (200 bootstrap rounds) through the real app
on a job with --stats-annotations judgments.
Targets: >= 100,000 rows/s, peak memory < 300 MB whatever the size, stats < 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db.engine import make_engine

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/prefarm_stats_bench"
JUDGES_PER_COMPARISON = 4


def _reset(url: str) -> Engine:
    from app.db.migrate import upgrade

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine


def _seed_job(engine: Engine, owner_id: int, name: str, n_annotations: int, humans: int) -> int:
    """A job of n_annotations / 4 comparisons (two per instruction), each judged by four
    annotators (`humans` of them human), generated inside PostgreSQL."""
    n_comparisons = n_annotations // JUDGES_PER_COMPARISON
    n_instructions = n_comparisons // 2
    with engine.begin() as c:
        job_id = c.execute(
            text(
                "INSERT INTO jobs (owner_id, name, routing, human_overlap, annotators, seed, "
                "status, reference_generator) VALUES (:owner, :name, '{}', 1, '[]', 7, 'active', "
                "'model-a') RETURNING id"
            ),
            {"owner": owner_id, "name": name},
        ).scalar_one()
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(
            text(
                "INSERT INTO instructions (id, instruction, input) "
                "SELECT md5(:job || 'i' || n)::uuid, 'Explain item ' || n || ' of the list "
                "in simple words.', '' FROM generate_series(1, :n) n"
            ),
            {"job": job_id, "n": n_instructions},
        )
        c.execute(
            text(
                "INSERT INTO outputs (id, instruction_id, generator, text) "
                "SELECT md5(:job || 'o' || g || n)::uuid, md5(:job || 'i' || n)::uuid, g, "
                "'Answer of ' || g || ' to item ' || n || ': ' || repeat('words and more words ', "
                "5 + (n % 20)) || CASE WHEN n % 3 = 0 THEN E'\\n- a list item\\n- another' "
                "ELSE '' END "
                "FROM generate_series(1, :n) n, unnest(ARRAY['model-a', 'model-b', 'model-c']) g"
            ),
            {"job": job_id, "n": n_instructions},
        )
        c.execute(
            text(
                "INSERT INTO comparisons (job_id, external_id, instruction_id, output_1_id, "
                "output_2_id, route, status, content_sha256) "
                "SELECT :job, 'q' || n || '-' || g, md5(:job || 'i' || n)::uuid, "
                "md5(:job || 'o' || 'model-a' || n)::uuid, md5(:job || 'o' || g || n)::uuid, "
                "'simulated', 'done', md5(n || g) "
                "FROM generate_series(1, :n) n, unnest(ARRAY['model-b', 'model-c']) g "
                "ORDER BY n, g"
            ),
            {"job": job_id, "n": n_instructions},
        )
        annotator_ids = []
        for k in range(JUDGES_PER_COMPARISON):
            kind = "human" if k < humans else "simulated"
            annotator_ids.append(
                c.execute(
                    text("INSERT INTO annotators (kind, name) VALUES (:kind, :name) RETURNING id"),
                    {"kind": kind, "name": f"{name}-{kind}-{k}"},
                ).scalar_one()
            )
        c.execute(
            text(
                "INSERT INTO annotations (job_id, comparison_id, annotator_id, repeat, preference, "
                "label, shown_swapped, cost_usd, latency_ms, seconds_on_task, is_noisy_label, "
                "source) "
                "SELECT :job, c.id, a.id, 0, p, NULL, random() < 0.5, "
                "CASE WHEN a.kind = 'simulated' THEN 0.002 END, "
                "CASE WHEN a.kind = 'simulated' THEN 400 + random() * 200 END, "
                "CASE WHEN a.kind = 'human' THEN 20 + random() * 40 END, false, 'imported' "
                "FROM comparisons c CROSS JOIN annotators a, "
                "LATERAL (SELECT CASE WHEN r < 0.55 THEN 2.0 WHEN r < 0.95 THEN 1.0 "
                "ELSE 1.5 END AS p FROM (SELECT random() + 0 * c.id + 0 * a.id AS r) x) pr "
                "WHERE c.job_id = :job AND a.id = ANY(:annotators) ORDER BY c.id, a.id"
            ),
            {"job": job_id, "annotators": annotator_ids},
        )
        c.execute(text("ANALYZE"))
    return job_id


def seed(url: str, n_annotations: int, n_stats: int) -> dict[str, int]:
    from app.accounts.service import create_token, create_user
    from app.db.session import unit_of_work

    engine = _reset(url)
    with unit_of_work(engine) as session:
        user = create_user(session, "bench@example.org", "researcher", None)
        token = create_token(session, user, "bench")
        owner = user.id
    started = time.perf_counter()
    big = _seed_job(engine, owner, "export", n_annotations, humans=0)
    small = _seed_job(engine, owner, "stats", n_stats, humans=2)
    print(
        f"seeded {n_annotations:,} + {n_stats:,} judgments in {time.perf_counter() - started:.1f} s"
    )
    Path(os.environ.get("TMPDIR", "/tmp"), "prefarm-bench-token").write_text(token)
    engine.dispose()
    return {"export_job": big, "stats_job": small}


def seeded_jobs(url: str) -> dict[str, int] | None:
    engine = make_engine(url)
    with engine.connect() as c:
        query = text("SELECT name, id FROM jobs WHERE name IN ('export', 'stats')")
        ids = {name: job_id for name, job_id in c.execute(query)}
    return {"export_job": ids["export"], "stats_job": ids["stats"]} if len(ids) == 2 else None


def run_export(url: str, job_id: int, fmt: str) -> None:
    """In a fresh process: stream one export to nowhere; print lines, bytes, time, max RSS."""
    from app.exports import ExportOptions, export_bytes

    engine = make_engine(url)
    lines = 0

    def count(n: int) -> None:
        nonlocal lines
        lines = n

    imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    size = sum(
        len(chunk) for chunk in export_bytes(engine, job_id, ExportOptions(format=fmt), count)
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "lines": lines,
        "bytes": size,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak_mb,
        "imports_mb": imports_mb,
    }
    print(json.dumps(result))


def run_baseline(url: str, job_id: int, fmt: str) -> None:
    """PostgreSQL writing the same rows itself (COPY ... TO STDOUT, text format)."""
    from app.exports import ExportOptions
    from app.exports.records import aggregate_query, judgment_query

    engine = make_engine(url)
    options = ExportOptions(format=fmt)
    query = (
        judgment_query(options, job_id)
        if fmt == "annotations"
        else aggregate_query(options, job_id)
    )
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    started = time.perf_counter()
    size = 0
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
            for block in copy:
                size += len(block)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bytes": size, "seconds": seconds, "peak_mb": peak_mb}))


def _child(mode: str, url: str, job_id: int, fmt: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, f"--{mode}", fmt, "--url", url, "--job", str(job_id)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def judgments_of(url: str, job_id: int) -> int:
    engine = make_engine(url)
    with engine.connect() as c:
        return c.execute(
            text("SELECT count(*) FROM annotations WHERE job_id = :j"), {"j": job_id}
        ).scalar_one()


def time_stats(url: str, job_id: int) -> float:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.server import create_app

    token = Path(os.environ.get("TMPDIR", "/tmp"), "prefarm-bench-token").read_text()
    engine = make_engine(url)
    # Computed by the request itself (not in the background), with a budget it never reaches;
    # a new seed each time, so no answer comes from the statistics cache.
    settings = Settings(
        database_url=url, stats_inline_max_judgments=10**9, stats_time_budget_seconds=600
    )
    with TestClient(create_app(settings, engine)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.get(f"/api/v1/jobs/{job_id}/stats", params={"bootstrap": 1}, headers=headers)
        times = []
        for seed in range(3):
            started = time.perf_counter()
            response = client.get(
                f"/api/v1/jobs/{job_id}/stats",
                params={"bootstrap": 200, "seed": 100 + seed},
                headers=headers,
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            assert response.json()["counts"]["judgments"] > 0
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PREFARM_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--stats-annotations", type=int, default=100_000)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the jobs seeded by an earlier run"
    )
    parser.add_argument("--export", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        return run_export(args.url, args.job, args.export)
    if args.baseline:
        return run_baseline(args.url, args.job, args.baseline)

    jobs = seeded_jobs(args.url) if args.reuse else None
    if jobs is None:
        jobs = seed(args.url, args.annotations, args.stats_annotations)
    judgments = judgments_of(args.url, jobs["export_job"])
    print(f"\nexport job: {judgments:,} judgments")
    print(
        f"{'format':<12} {'lines':>10} {'lines/s':>10} {'judgments/s':>12} {'MB/s':>7} "
        f"{'peak MB':>8} {'imports MB':>11} {'COPY lines/s':>13} {'ratio':>6} "
        f"{'client CPU s':>13}"
    )
    for fmt in ("annotations", "trl"):
        ours = _child("export", args.url, jobs["export_job"], fmt)
        base = _child("baseline", args.url, jobs["export_job"], fmt)
        lines_per_s = ours["lines"] / ours["seconds"]
        base_per_s = ours["lines"] / base["seconds"]
        print(
            f"{fmt:<12} {ours['lines']:>10,} {lines_per_s:>10,.0f} "
            f"{judgments / ours['seconds']:>12,.0f} {ours['bytes'] / ours['seconds'] / 1e6:>7.1f} "
            f"{ours['peak_mb']:>8.0f} {ours['imports_mb']:>11.0f} {base_per_s:>13,.0f} "
            f"{lines_per_s / base_per_s:>6.2f} {ours['cpu']:>13.1f}"
        )
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    stats_judgments = judgments_of(args.url, jobs["stats_job"])
    seconds = time_stats(args.url, jobs["stats_job"])
    print(
        f"\nstats endpoint, {stats_judgments:,} judgments, 200 bootstrap rounds: "
        f"{seconds:.2f} s (best of 3)"
    )


if __name__ == "__main__":
    main()
