"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when PREFARM_TEST_DATABASE_URL is
set), the real app behind a TestClient, accounts with tokens, and the AlpacaEval test data."""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.accounts.service import create_token, create_user
from app.config import Settings
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.db.models import Base
from app.db.session import unit_of_work
from app.server import create_app

TEST_DATA = Path(__file__).parent / "data"


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PREFARM_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'prefarm-test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def on_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (`prefarm db upgrade`, `prefarm worker`) sets up logging to
    stderr for the whole process; undo it, so a later test's captured output holds only what
    that test's command printed, not the log lines of servers running in threads."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (the schema stays)."""
    if "engine" not in request.fixturenames:
        yield
        return
    engine: Engine = request.getfixturevalue("engine")
    names = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                connection.execute(text(f"DELETE FROM {name}"))
    yield


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No background worker in tests: tests that want one run it explicitly.
    return Settings(database_url=database_url, inprocess_worker=False)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The real app served over HTTP by uvicorn on a free 127.0.0.1 port; its base URL."""
    from app.demo.server import BackgroundServer

    server = BackgroundServer(app)
    yield server.start()
    server.stop()


@pytest.fixture
def judging_url(database_url: str, engine: Engine) -> Iterator[str]:
    """Like `live_url`, with the in-process worker judging simulated comparisons (any DB)."""
    from app.demo.server import BackgroundServer

    settings = Settings(database_url=database_url, inprocess_worker=True)
    server = BackgroundServer(create_app(settings, engine))
    yield server.start()
    server.stop()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for looking at what the API stored."""
    with Session(engine) as session:
        yield session


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str
    token: str | None
    password: str | None

    @property
    def headers(self) -> dict[str, str]:
        assert self.token, f"{self.email} has no API token"
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(engine: Engine):
    counter = iter(range(1, 10_000))

    def make(
        role: str = "researcher", email: str | None = None, password: str | None = None
    ) -> Account:
        email = email or f"{role}{next(counter)}@example.org"
        with unit_of_work(engine) as session:
            user = create_user(session, email, role, password)
            token = create_token(session, user, "tests") if role != "rater" else None
            return Account(user.id, user.email, role, token, password)

    return make


@pytest.fixture
def researcher(make_account) -> Account:
    return make_account("researcher")


@pytest.fixture
def admin(make_account) -> Account:
    return make_account("admin")


@pytest.fixture
def make_job(client: TestClient):
    def make(account: Account, **fields: Any) -> dict[str, Any]:
        body = {"name": "test job", **fields}
        response = client.post("/api/v1/jobs", json=body, headers=account.headers)
        assert response.status_code == 201, response.text
        return response.json()

    return make


def read_jsonl_gz(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        pytest.fail(f"test data {path} is missing; see tests/data/README.md")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def alpaca_outputs() -> list[dict[str, Any]]:
    return read_jsonl_gz(TEST_DATA / "alpaca_eval_outputs.jsonl.gz")


@pytest.fixture(scope="session")
def alpaca_judgments() -> list[dict[str, Any]]:
    return read_jsonl_gz(TEST_DATA / "alpaca_eval_judgments.jsonl.gz")


@pytest.fixture(scope="session")
def sample_conversations() -> list[dict[str, Any]]:
    """prefarm's own multi-turn comparisons (app/demo/sample_conversations.jsonl), each with a
    gold preference."""
    from app.demo.setup import sample_conversations as rows

    return rows()


def gold_judgments(rows: list[dict[str, Any]], annotator: str = "judge-1") -> list[dict[str, Any]]:
    """One imported judgment per comparison, agreeing with its gold preference."""
    return [
        {"comparison_id": row["id"], "annotator": annotator, "preference": row["gold_preference"]}
        for row in rows
    ]
