"""The per-address login limit cannot be escaped by rotating X-Forwarded-For: forwarded headers
are believed only from the proxies PREFARM_FORWARDED_ALLOW_IPS lists, through real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from app.accounts.login_limits import ADDRESS_FACTOR
from app.config import Settings
from app.demo.server import BackgroundServer
from app.server import create_app
from tests.web.conftest import csrf_of

MAX_FAILURES = 1  # per email; each failure costs a password hash, so keep the runs short
FAILURES_PER_ADDRESS = MAX_FAILURES * ADDRESS_FACTOR


def failed_logins(base_url: str, count: int, forwarded_for=lambda n: f"203.0.113.{n}"):
    """`count` failed logins, each for another email and with another X-Forwarded-For; the
    status of each answer."""
    statuses = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        csrf = csrf_of(client.get("/login").text)
        for n in range(count):
            response = client.post(
                "/login",
                data={"email": f"guess{n}@example.org", "password": "wrong", "csrf_token": csrf},
                headers={"X-Forwarded-For": forwarded_for(n)},
            )
            statuses.append(response.status_code)
    return statuses


@pytest.fixture
def served(database_url: str, engine: Engine):
    servers: list[BackgroundServer] = []

    def serve(**settings: Any) -> str:
        app = create_app(
            Settings(
                database_url=database_url,
                inprocess_worker=False,
                login_max_failures=MAX_FAILURES,
                **settings,
            ),
            engine,
        )
        server = BackgroundServer(app)
        servers.append(server)
        return server.start()

    yield serve
    for server in servers:
        server.stop()


def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(served) -> None:
    statuses = failed_logins(served(), FAILURES_PER_ADDRESS + 1)

    assert statuses[:-1] == [401] * FAILURES_PER_ADDRESS
    assert statuses[-1] == 429


def test_a_listed_proxy_is_believed_so_its_clients_are_limited_one_by_one(served) -> None:
    statuses = failed_logins(served(forwarded_allow_ips="127.0.0.1"), FAILURES_PER_ADDRESS + 1)

    assert statuses == [401] * (FAILURES_PER_ADDRESS + 1)


def test_a_listed_proxy_cannot_hide_one_client_behind_many_addresses(served) -> None:
    url = served(forwarded_allow_ips="127.0.0.1")

    statuses = failed_logins(url, FAILURES_PER_ADDRESS + 1, forwarded_for=lambda n: "198.51.100.7")

    assert statuses[-1] == 429


def test_a_proxy_that_is_not_listed_is_not_believed(served) -> None:
    url = served(forwarded_allow_ips="10.0.0.0/8")

    statuses = failed_logins(url, FAILURES_PER_ADDRESS + 1)

    assert statuses[-1] == 429


@pytest.fixture
def prefarm_serve(tmp_path) -> Iterator[str]:
    """`prefarm serve` itself, on a SQLite file of its own, with the default settings."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFARM_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PREFARM_LOG_LEVEL": "warning",
        "PREFARM_INPROCESS_WORKER": "false",
        "PREFARM_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
    }
    env.pop("FORWARDED_ALLOW_IPS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "prefarm_client", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "prefarm serve did not start"
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_prefarm_serve_does_not_believe_x_forwarded_for_from_localhost(prefarm_serve) -> None:
    statuses = failed_logins(prefarm_serve, FAILURES_PER_ADDRESS + 1)

    assert statuses[-1] == 429
    assert re.fullmatch(r"(401,)+429", ",".join(map(str, statuses)))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
