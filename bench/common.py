"""Shared pieces of the benchmarks: a fresh PostgreSQL database, a served prefarm, a token."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_ADMIN_URL = os.environ.get("PREFARM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
PREFARM = [sys.executable, "-m", "prefarm_client"]  # the `prefarm` command


def fresh_database(name: str) -> str:
    """Drop and create `name`; return its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prefarm(database_url: str, *args: str) -> str:
    env = {**os.environ, "PREFARM_DATABASE_URL": database_url}
    done = subprocess.run([*PREFARM, *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def researcher_token(database_url: str) -> str:
    prefarm(database_url, "users", "create", "--email", "bench@example.org", "--role", "researcher")
    return prefarm(database_url, "tokens", "create", "--email", "bench@example.org")


@contextmanager
def served(
    database_url: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """`prefarm serve` in a subprocess until the block ends; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": database_url,
        "PREFARM_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [*PREFARM, "serve", "--port", str(port), "--workers", str(workers)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("prefarm serve did not become ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def alpaca_outputs() -> list[dict[str, Any]]:
    with gzip.open(TEST_DATA / "alpaca_eval_outputs.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
