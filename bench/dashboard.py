"""Dashboard pages on PostgreSQL jobs of growing size (1,000 and 100,000 comparisons unless told).

Seeds jobs of the same shape through the bulk API (comparisons among four generators, two
simulated judges and one human who disagree on part of them), logs in through the login page
and times each dashboard page `--repeats` times. Prints the median per page for each job and
the ratio largest/smallest: pages built from bounded queries should stay near 1x; the job page also
computes the full statistics (every judgment, bootstrap intervals), which grows with the job.

    python bench/dashboard.py [--sizes 1000,100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

import httpx
import orjson
import psycopg

from bench.common import fresh_database, prefarm, served
from bench.processes import load_average

DATABASE = os.environ.get("PREFARM_BENCH_DASHBOARD_DATABASE", "prefarm_dashboard_bench")
EMAIL = "dashboard-bench@example.org"
PASSWORD = "dashboard bench password"
GENERATORS = ("gen-a", "gen-b", "gen-c", "gen-d")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _ndjson(rows: list[dict[str, object]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"


def seed(client: httpx.Client, size: int) -> int:
    job = client.post("/api/v1/jobs", json={"name": f"bench {size}", "budget_usd": 100.0})
    job.raise_for_status()
    job_id = job.json()["id"]
    headers = {"Content-Type": "application/x-ndjson"}
    comparisons = [
        {
            "id": f"c{i}",
            "instruction": f"Instruction number {i}: explain item {i}.",
            "output_1": f"Answer {i}. " * (1 + i % 5),
            "output_2": f"Other answer {i}. " * (1 + i % 3),
            "generator_1": GENERATORS[i % 4],
            "generator_2": GENERATORS[(i + 1 + i // 4 % 3) % 4],
        }
        for i in range(size)
    ]
    for start in range(0, size, 50_000):
        chunk = _ndjson(comparisons[start : start + 50_000])
        client.post(f"/api/v1/jobs/{job_id}/comparisons", content=chunk, headers=headers)
    for annotator, kind, vote in (
        ("bench-longest", "simulated", lambda i: 1.0 if i % 5 >= i % 3 else 2.0),
        ("bench-first", "simulated", lambda i: 1.0),
        ("human:rater@example.org", "human", lambda i: 2.0 if i % 7 == 0 else 1.0),
    ):
        rows = [
            {"comparison_id": f"c{i}", "annotator": annotator, "annotator_kind": kind,
             "preference": vote(i), "shown_swapped": i % 2 == 1}
            for i in range(size)
        ]  # fmt: skip
        for start in range(0, size, 50_000):
            chunk = _ndjson(rows[start : start + 50_000])
            client.post(f"/api/v1/jobs/{job_id}/annotations", content=chunk, headers=headers)
    return job_id


def log_in(url: str) -> httpx.Client:
    browser = httpx.Client(base_url=url, timeout=600)
    page = browser.get("/login")
    csrf = _CSRF.search(page.text)
    assert csrf, "no CSRF token on the login page"
    browser.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf[1]})
    return browser


def pages(browser: httpx.Client, job_id: int, size: int) -> dict[str, str]:
    first = browser.get(f"/dashboard/jobs/{job_id}/disagreements").text
    comparison = re.search(rf"/dashboard/jobs/{job_id}/comparisons/(\d+)", first)
    assert comparison, "the benchmark job has no disagreements"
    middle = int(comparison[1]) + size // 2
    return {
        "job list": "/dashboard",
        "progress fragment": f"/dashboard/jobs/{job_id}/progress",
        "disagreements, first page": f"/dashboard/jobs/{job_id}/disagreements",
        "disagreements, mid-job page": f"/dashboard/jobs/{job_id}/disagreements?after={middle}",
        "comparison page": comparison[0],
        "job page": f"/dashboard/jobs/{job_id}",
        "statistics fragment": f"/dashboard/jobs/{job_id}/statistics",
    }


def median_ms(browser: httpx.Client, path: str, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = browser.get(path)
        timings.append(1000 * (time.perf_counter() - started))
        response.raise_for_status()
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda value: [int(size) for size in value.split(",")],
        default=[1_000, 100_000],
        help="job sizes, the first the baseline (e.g. 10000,100000,1000000)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    database_url = fresh_database(DATABASE)
    prefarm(database_url, "db", "upgrade")
    prefarm(database_url, "users", "create", "--email", EMAIL, "--role", "researcher",
            "--password", PASSWORD)  # fmt: skip
    token = prefarm(database_url, "tokens", "create", "--email", EMAIL)
    with served(database_url) as url:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=900)
        started = time.perf_counter()
        jobs = [seed(api, size) for size in args.sizes]
        print(f"seeded {' + '.join(f'{size:,}' for size in args.sizes)} comparisons, 3 judgments "
              f"each, in {time.perf_counter() - started:.0f} s")  # fmt: skip
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("ANALYZE")
        browser = log_in(url)
        paths = [pages(browser, job, size) for job, size in zip(jobs, args.sizes, strict=True)]
        header = " ".join(f"{size:>10,}" for size in args.sizes)
        print(f"load average {load_average()}")
        print(f"{'page':32} {header}   ratio last/first (median ms)")
        for name in paths[0]:
            times = [median_ms(browser, job_paths[name], args.repeats) for job_paths in paths]
            cells = " ".join(f"{ms:10.1f}" for ms in times)
            print(f"{name:32} {cells}   {times[-1] / times[0]:5.1f}x")


if __name__ == "__main__":
    main()
