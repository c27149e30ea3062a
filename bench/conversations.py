"""Ingest of conversations against instructions: the same texts posted to a served prefarm on
PostgreSQL once as instruction rows and once as conversations (three earlier turns, the
instruction as the last user turn; one candidate in four as three assistant messages), in the
same run, so the ratio is the cost of the message lists alone.

    python -m bench.conversations [--rows 20000] [--batch 5000] [--clients 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx
import orjson

from bench.common import fresh_database, prefarm, researcher_token, served
from bench.ingest import make_rows, post_batches


def as_conversation(row: dict[str, Any], n: int) -> dict[str, Any]:
    """The row with its instruction as the last turn of a short conversation."""
    conversation = {k: v for k, v in row.items() if k not in ("instruction", "input")}
    conversation["id"] = f"chat-{n}"
    conversation["messages"] = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": f"A question to start with ({n})."},
        {"role": "assistant", "content": "An earlier answer, a few sentences long. " * 4},
        {"role": "user", "content": row["instruction"]},
    ]
    if n % 4 == 0:
        text = str(row["output_1"])
        conversation["output_1"] = [
            {"role": "assistant", "content": "[tool call] search(query)"},
            {"role": "assistant", "content": "[tool result] three documents"},
            {"role": "assistant", "content": text},
        ]
    return conversation


def bodies_of(rows: list[dict[str, Any]], batch: int) -> list[bytes]:
    return [
        b"\n".join(orjson.dumps(row) for row in rows[start : start + batch])
        for start in range(0, len(rows), batch)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    database_url = fresh_database("prefarm_bench_conversations")
    prefarm(database_url, "db", "upgrade")
    token = researcher_token(database_url)
    plain = make_rows(args.rows, 2_000)
    chats = [as_conversation(row, n) for n, row in enumerate(plain)]
    seconds: dict[str, float] = {}
    with served(
        database_url, workers=args.workers, extra_env={"PREFARM_INPROCESS_WORKER": "false"}
    ) as url:
        for name, rows in (("instructions", plain), ("conversations", chats)):
            job = httpx.post(
                f"{url}/api/v1/jobs",
                json={"name": f"{name} bench", "routing": {"policy": "human"}},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            bodies = bodies_of(rows, args.batch)
            seconds[name] = asyncio.run(post_batches(url, token, job["id"], bodies, args.clients))
            megabytes = sum(len(body) for body in bodies) / 1e6
            rate = args.rows / seconds[name]
            print(f"{name:<14} {seconds[name]:6.2f} s  {rate:8,.0f} rows/s  ({megabytes:.0f} MB)")
    ratio = seconds["conversations"] / seconds["instructions"]
    print(f"conversations / instructions time ratio: {ratio:.2f}x")


if __name__ == "__main__":
    main()
