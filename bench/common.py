"""Shared pieces of the benchmarks: a fresh PostgreSQL database, a served prefarm, a token."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_ADMIN_URL = os.environ.get("PREFARM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
PREFARM = [sys.executable, "-m", "prefarm_client"]  # the `prefarm` command


def fresh_database(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    """Drop and create `name` (on the server of `admin_url`); return its SQLAlchemy URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
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


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL's programs refuse to run as root: run them as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _postgres_program(name: str) -> str:
    """A PostgreSQL server program, from PREFARM_BENCH_PG_BIN (as bench/faults.py uses it)."""
    folder = Path(os.environ.get("PREFARM_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
    if not (folder / name).exists():
        raise RuntimeError(f"{folder / name} not found: set PREFARM_BENCH_PG_BIN")
    return str(folder / name)


@dataclass(frozen=True)
class PrivatePostgres:
    admin_url: str  # postgresql://postgres@127.0.0.1:<port>/postgres
    pid: int  # the root of its process tree (backends included), for tree_cpu_seconds


@contextmanager
def private_postgres(*settings: str) -> Iterator[PrivatePostgres]:
    """A throw-away PostgreSQL server of the bench's own (initdb in a temporary directory, a free
    port, `pg_stat_statements` loaded), so its backends' CPU and statement statistics are this
    run's alone and other users of the shared server are not disturbed."""
    directory = Path(tempfile.mkdtemp(prefix="prefarm-bench-pg-"))
    data = directory / "data"
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    initdb = [_postgres_program("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run(_as_postgres_user(initdb), check=True, capture_output=True)
    port = free_port()
    options = [
        "-c",
        "shared_preload_libraries=pg_stat_statements",
        "-c",
        "listen_addresses=127.0.0.1",
    ]
    options += ["-c", f"unix_socket_directories={directory}", "-p", str(port)]
    for setting in settings:
        options += ["-c", setting]
    server = subprocess.Popen(
        _as_postgres_user([_postgres_program("postgres"), "-D", str(data), *options]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the bench's own PostgreSQL did not start") from None
                time.sleep(0.2)
        yield PrivatePostgres(url, server.pid)
    finally:
        server.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
        server.wait(timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
