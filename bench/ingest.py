"""Ingest throughput: 200,000 comparisons posted as NDJSON batches to a served prefarm on
PostgreSQL, against a raw COPY of the same rows into scratch tables in the same run.

    python -m bench.ingest [--rows 200000] [--batch 10000] [--clients 2] [--workers 2]
                           [--max-chars N] [--texts distinct repeated]

Two kinds of rows: `distinct` (every instruction and output a new text: content addressing
saves nothing) and `repeated` (the 805 AlpacaEval instructions and their outputs over and over,
as when many jobs compare the same generators: most texts are stored once). The database
`prefarm_bench_ingest` (or PREFARM_BENCH_INGEST_DATABASE) is recreated for each kind.
Target (issue 16): API >= 0.6 x the raw COPY's rate with all texts distinct.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import httpx
import orjson
import psycopg

from bench.common import alpaca_outputs, fresh_database, prefarm, researcher_token, served


def make_rows(
    count: int, max_chars: int | None = None, distinct: bool = True
) -> list[dict[str, object]]:
    """Instructions and outputs built from the AlpacaEval texts (their real lengths, or cut to
    `max_chars`): made unique per row (`distinct`), or repeated as they are."""
    texts = [
        {**t, "output": t["output"][:max_chars], "instruction": t["instruction"][:max_chars]}
        for t in alpaca_outputs()
    ]
    rows = []
    for n in range(count):
        a, b = texts[n % len(texts)], texts[(n * 7 + 3) % len(texts)]
        tag = f" (variant {n})" if distinct else ""
        mark = f"\n\n[{n}]" if distinct else ""
        rows.append(
            {
                "id": f"bench-{n}",
                "instruction": f"{a['instruction']}{tag}",
                "input": "",
                "output_1": f"{a['output']}{mark}",
                "output_2": f"{b['output']}{mark}",
                "generator_1": a["generator"],
                "generator_2": b["generator"],
            }
        )
    return rows


async def post_batches(
    url: str, token: str, job_id: int, bodies: list[bytes], clients: int
) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(
                    f"/api/v1/jobs/{job_id}/comparisons", content=body, headers=headers
                )
                response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - started


def raw_copy_seconds(database_url: str, rows: list[dict[str, object]]) -> float:
    """COPY the same instructions, outputs and comparisons into bare scratch tables."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE scratch_instructions (id uuid PRIMARY KEY, instruction text, input text);"
            "CREATE TABLE scratch_outputs (id uuid PRIMARY KEY, instruction_id uuid, "
            "generator text, text text);"
            "CREATE TABLE scratch_comparisons (id bigserial PRIMARY KEY, external_id text, "
            "instruction_id uuid, output_1_id uuid, output_2_id uuid)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            ids = [(uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex) for _ in rows]
            with cur.copy("COPY scratch_instructions FROM STDIN") as copy:
                for row, (i, _, _) in zip(rows, ids, strict=True):
                    copy.write_row((i, row["instruction"], row["input"]))
            with cur.copy("COPY scratch_outputs FROM STDIN") as copy:
                for row, (i, o1, o2) in zip(rows, ids, strict=True):
                    copy.write_row((o1, i, row["generator_1"], row["output_1"]))
                    copy.write_row((o2, i, row["generator_2"], row["output_2"]))
            columns = "external_id, instruction_id, output_1_id, output_2_id"
            with cur.copy(f"COPY scratch_comparisons ({columns}) FROM STDIN") as copy:
                for row, (i, o1, o2) in zip(rows, ids, strict=True):
                    copy.write_row((row["id"], i, o1, o2))
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--max-chars", type=int, default=None, help="cut texts to this length (default: as real)"
    )
    parser.add_argument(
        "--texts", nargs="+", choices=("distinct", "repeated"), default=["distinct", "repeated"]
    )
    args = parser.parse_args()
    for kind in args.texts:
        measure(args, distinct=kind == "distinct")


def measure(args: argparse.Namespace, distinct: bool) -> None:
    database_url = fresh_database(
        os.environ.get("PREFARM_BENCH_INGEST_DATABASE", "prefarm_bench_ingest")
    )
    prefarm(database_url, "db", "upgrade")
    token = researcher_token(database_url)
    rows = make_rows(args.rows, args.max_chars, distinct)
    bodies = [
        b"\n".join(orjson.dumps(row) for row in rows[start : start + args.batch])
        for start in range(0, len(rows), args.batch)
    ]
    megabytes = sum(len(body) for body in bodies) / 1e6
    load = os.getloadavg()[0]
    with served(
        database_url, workers=args.workers, extra_env={"PREFARM_INPROCESS_WORKER": "false"}
    ) as url:
        job = httpx.post(
            f"{url}/api/v1/jobs",
            json={"name": "ingest bench", "routing": {"policy": "human"}},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        api_seconds = asyncio.run(post_batches(url, token, job["id"], bodies, args.clients))
    copy_seconds = raw_copy_seconds(database_url, rows)
    kind = "distinct texts" if distinct else "repeated texts"
    print(
        f"{kind}: {args.rows:,} rows in batches of {args.batch:,} ({megabytes:.0f} MB of "
        f"NDJSON); load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"  API ingest:  {api_seconds:6.2f} s  {args.rows / api_seconds:9,.0f} comparisons/s")
    print(f"  raw COPY:    {copy_seconds:6.2f} s  {args.rows / copy_seconds:9,.0f} rows/s")
    print(f"  API rate / COPY rate: {copy_seconds / api_seconds:.2f}")


if __name__ == "__main__":
    main()
