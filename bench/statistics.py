"""Statistics benchmark on PostgreSQL (a benchmark, not a test): what a page view costs.

    PREFARM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/prefarm_stats_bench \\
        python bench/statistics.py [--judgments 100000]

The database named there is emptied and re-seeded with one job (two human and two simulated
judges on every comparison, three generators). It prints:

- the Bradley-Terry fit on the chain of 21 generators with one judgment per link (issue 11.2:
  5 s for 4 bootstrap rounds with the old iterations): Newton iterations and the time of 200
  rounds, fitted in memory;
- `GET /api/v1/jobs/{id}/stats` with 200 bootstrap rounds (and length-controlled win rates of
  8 judge x generator pairs) computed by the request (best of 3,
  a new seed each time so the cache does not answer), and answered from the cache;
- with the default settings (a job above PREFARM_STATS_INLINE_MAX_JUDGMENTS): how fast the 202
  answer comes and how long until the background report is ready.
Bounded: one job, a few requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.export import DEFAULT_URL, _reset, _seed_job

CHAIN = 21


def chain_fit() -> None:
    from app.stats.rankings import fit_bradley_terry, ratings

    wins = np.zeros((CHAIN, CHAIN))
    for k in range(CHAIN - 1):
        wins[k + 1, k] = 1.0
    fit = fit_bradley_terry(wins, prior=0.01)
    item = np.arange(CHAIN - 1)
    started = time.perf_counter()
    _, summary = ratings(
        item, item, item + 1, np.full(CHAIN - 1, 2.0), [f"g{k}" for k in range(CHAIN)],
        rounds=200, seed=1,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    print(
        f"chain of {CHAIN} generators: converged={fit.converged} in {fit.iterations} Newton "
        f"iterations; point fit + 200 bootstrap rounds {seconds:.3f} s "
        f"({summary.bootstrap_rounds} rounds)"
    )


def timed_get(client, url: str, headers: dict[str, str], **params) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get(url, params=params, headers=headers)
    return time.perf_counter() - started, response


def main() -> None:
    from fastapi.testclient import TestClient

    from app.accounts.service import create_token, create_user
    from app.config import Settings
    from app.db.session import unit_of_work
    from app.server import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PREFARM_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--judgments", type=int, default=100_000)
    args = parser.parse_args()

    chain_fit()
    engine = _reset(args.url)
    with unit_of_work(engine) as session:
        user = create_user(session, "bench@example.org", "researcher", None)
        token = create_token(session, user, "bench")
        owner = user.id
    job_id = _seed_job(engine, owner, "stats", args.judgments, humans=2)
    with engine.begin() as connection:  # lengths that differ, so the length-controlled GLM fits
        connection.execute(
            text(
                "UPDATE outputs SET text = text || repeat(' and more', (random() * 60)::int) "
                "WHERE generator <> 'model-a'"
            )
        )
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/jobs/{job_id}/stats"
    inline = Settings(
        database_url=args.url, stats_inline_max_judgments=10**9, stats_time_budget_seconds=600
    )
    with TestClient(create_app(inline, engine)) as client:
        timed_get(client, url, headers, bootstrap=1)  # warm the imports and the connections
        computed = []
        for seed in range(3):
            seconds, response = timed_get(client, url, headers, bootstrap=200, seed=100 + seed)
            assert response.status_code == 200, response.text
            computed.append(seconds)
        cached = min(timed_get(client, url, headers, bootstrap=200, seed=100)[0] for _ in range(3))
        body = response.json()
    print(
        f"stats, {body['counts']['judgments']:,} judgments, 200 bootstrap rounds: computed "
        f"{min(computed):.2f} s (best of 3), from the cache {cached * 1000:.0f} ms"
    )
    with TestClient(create_app(Settings(database_url=args.url), engine)) as client:
        seconds, response = timed_get(client, url, headers, bootstrap=200, seed=7)
        started = time.perf_counter()
        while response.status_code == 202:
            time.sleep(0.2)
            _, response = timed_get(client, url, headers, bootstrap=200, seed=7)
        ready = time.perf_counter() - started
    print(
        f"default settings: first answer {seconds * 1000:.0f} ms (status 202), background "
        f"report ready after {ready:.2f} s"
    )
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
