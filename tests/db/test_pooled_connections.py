"""Pooled PostgreSQL connections: one the server closed while it rested in the pool is replaced
before a request uses it, without a ping on every checkout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from app.db import dialect
from app.db.engine import make_engine

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pooled(engine: Engine, on_postgres: bool) -> Iterator[Engine]:
    if not on_postgres:
        pytest.skip("needs PostgreSQL (set PREFARM_TEST_DATABASE_URL)")
    pooled = make_engine(engine.url.render_as_string(hide_password=False))
    yield pooled
    pooled.dispose()


def _backend_pid(pooled: Engine) -> int:
    with pooled.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        connection.commit()


def test_a_connection_the_server_closed_while_it_rested_is_replaced(
    pooled: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialect, "IDLE_PING_SECONDS", 0.0)
    first = _backend_pid(pooled)
    _terminate(engine, first)

    assert _backend_pid(pooled) != first


def test_a_connection_back_in_use_at_once_is_not_pinged(
    pooled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialect, "IDLE_PING_SECONDS", 3600.0)
    pings: list[object] = []
    monkeypatch.setattr(pooled.dialect, "do_ping", lambda connection: pings.append(connection))
    _backend_pid(pooled)
    _backend_pid(pooled)

    assert pings == []


def test_a_connection_that_rested_is_pinged_once_per_checkout(
    pooled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialect, "IDLE_PING_SECONDS", 0.0)
    pings: list[object] = []

    def counted_ping(connection: object) -> bool:
        pings.append(connection)
        return True

    monkeypatch.setattr(pooled.dialect, "do_ping", counted_ping)
    _backend_pid(pooled)  # a new connection: nothing to ping
    _backend_pid(pooled)
    _backend_pid(pooled)

    assert len(pings) == 2
