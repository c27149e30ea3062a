"""While the database cannot be reached the API answers 503 with Retry-After (JSON for the API,
a page for browsers) and /readyz says 503; once it is back, the same process recovers by itself.

The outage is made without touching the shared PostgreSQL server: an address where nothing
listens, and a TCP proxy in front of the test database that the test cuts and restores.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.db.engine import make_engine
from app.server import create_app
from tests.fakes.fixtures import marked_pairs
from tests.fakes.tcp_proxy import TcpProxy


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"


@pytest.fixture
def nowhere_url() -> str:
    """A PostgreSQL URL at a port where nothing listens: every connection is refused."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{_unused_port()}/prefarm"


@pytest.fixture
def client_of():
    clients: list[TestClient] = []
    engines: list[Engine] = []

    def make(url: str) -> TestClient:
        engine = make_engine(url)
        engines.append(engine)
        client = TestClient(create_app(Settings(database_url=url, inprocess_worker=False), engine))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    for engine in engines:
        engine.dispose()


def test_the_api_answers_503_with_retry_after_when_the_database_refuses_connections(
    client_of, nowhere_url
) -> None:
    client = client_of(nowhere_url)
    token = {"Authorization": "Bearer pf_any"}

    assert_unavailable_json(client.get("/api/v1/jobs", headers=token))
    assert_unavailable_json(client.post("/api/v1/jobs", json={"name": "x"}, headers=token))


def test_readyz_is_503_and_healthz_200_while_the_database_is_away(client_of, nowhere_url) -> None:
    client = client_of(nowhere_url)

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "5"
    assert ready.json()["database"].startswith("unreachable")
    assert client.get("/healthz").status_code == 200


def test_a_browser_gets_a_503_page(client_of, nowhere_url) -> None:
    client = client_of(nowhere_url)
    client.cookies.set("prefarm_session", "some-session")

    page = client.get("/rate", headers={"Accept": "text/html"})

    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "5"
    assert "try again" in page.text


@pytest.fixture
def proxied(engine: Engine, on_postgres: bool) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test database and the database URL through it."""
    if not on_postgres:
        pytest.skip("needs PostgreSQL (set PREFARM_TEST_DATABASE_URL)")
    proxy = TcpProxy(engine.url.host or "127.0.0.1", engine.url.port or 5432).start()
    url = engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy, url
    proxy.close()


@pytest.mark.postgres_only
def test_the_api_recovers_by_itself_when_the_database_comes_back(
    proxied, client_of, researcher
) -> None:
    proxy, url = proxied
    client = client_of(url)
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 200

    proxy.cut()
    assert_unavailable_json(client.get("/api/v1/jobs", headers=researcher.headers))
    assert client.get("/readyz").status_code == 503

    proxy.restore()
    assert client.get("/readyz").status_code == 200
    created = client.post("/api/v1/jobs", json={"name": "after"}, headers=researcher.headers)
    assert created.status_code == 201
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"][0]["name"] == (
        "after"
    )


class WorkerProcess:
    """`prefarm worker --until-idle` in a subprocess, its log lines collected as they come."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefarm_client", "worker", "--until-idle"],
            env={"PREFARM_DATABASE_URL": url, "PREFARM_LOG_FORMAT": "text", "PATH": "/usr/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        assert self.process.stderr is not None
        stderr = self.process.stderr
        self._reader = threading.Thread(target=lambda: self.lines.extend(stderr), daemon=True)
        self._reader.start()

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.1)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code, stdout, "".join(self.lines)


def test_a_worker_waits_for_an_unreachable_database_without_a_traceback(nowhere_url) -> None:
    worker = WorkerProcess(nowhere_url)
    worker.wait_for_line("retrying in 2 s")
    worker.process.terminate()
    _, _, stderr = worker.finish()

    assert "the database is not reachable" in stderr
    assert "Traceback" not in stderr


@pytest.mark.postgres_only
def test_a_worker_started_before_its_database_starts_working_once_it_is_there(
    proxied, client, researcher, make_job
) -> None:
    proxy, url = proxied
    job = make_job(researcher, annotators=["longest"])
    client.post(
        f"/api/v1/jobs/{job['id']}/comparisons", json=marked_pairs(3), headers=researcher.headers
    )
    proxy.cut()

    worker = WorkerProcess(url)
    worker.wait_for_line("retrying in")
    proxy.restore()
    code, stdout, stderr = worker.finish()

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "3 tasks completed" in stdout
