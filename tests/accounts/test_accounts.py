"""Accounts and tokens: created from the CLI, stored hashed, checked on every request."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from prefarm_client.cli import cli
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.db.models import ApiToken, User


@pytest.fixture
def cli_env(database_url: str, engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    from app.config import get_settings
    from app.db.engine import get_engine

    monkeypatch.setenv("PREFARM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_cli_creates_a_researcher_whose_token_works(cli_env: CliRunner, client: TestClient) -> None:
    created = cli_env.invoke(
        cli, ["users", "create", "--email", "Ada@Example.org", "--role", "researcher"]
    )
    assert created.exit_code == 0, created.output
    token = cli_env.invoke(cli, ["tokens", "create", "--email", "ada@example.org", "--name", "nb"])
    assert token.exit_code == 0, token.output
    response = client.get(
        "/api/v1/jobs", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
    )
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_cli_rejects_an_unknown_role(cli_env: CliRunner, db: Session) -> None:
    result = cli_env.invoke(cli, ["users", "create", "--email", "x@example.org", "--role", "boss"])
    assert result.exit_code == 2
    assert "role must be one of" in result.output
    assert db.scalar(select(User).where(User.email == "x@example.org")) is None


def test_cli_gives_raters_no_api_token(cli_env: CliRunner) -> None:
    cli_env.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "r@example.org",
            "--role",
            "rater",
            "--password",
            "pw-12345678",
        ],
    )
    result = cli_env.invoke(cli, ["tokens", "create", "--email", "r@example.org"])
    assert result.exit_code == 2
    assert "raters" in result.output


def test_token_is_stored_only_as_its_sha256(researcher, db: Session) -> None:
    stored = db.scalars(select(ApiToken)).all()
    assert len(stored) == 1
    assert stored[0].token_sha256 == hashlib.sha256(researcher.token.encode()).hexdigest()
    assert researcher.token not in (stored[0].prefix, stored[0].token_sha256, stored[0].name)
    assert researcher.token.startswith(stored[0].prefix)


def test_password_is_stored_as_an_argon2_hash(make_account, db: Session) -> None:
    make_account("rater", email="rater@example.org", password="correct horse")
    user = db.scalar(select(User).where(User.email == "rater@example.org"))
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("$argon2")
    assert "correct horse" not in user.password_hash


def test_request_without_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/jobs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_unknown_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/jobs", headers={"Authorization": "Bearer pf_not-a-real-token"})
    assert response.status_code == 401


def test_revoked_token_is_401(client: TestClient, researcher, engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(ApiToken).values(revoked_at=ApiToken.created_at))
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 401


def test_inactive_user_token_is_401(client: TestClient, researcher, engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(User).values(active=False))
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 401


def test_using_a_token_records_when(client: TestClient, researcher, db: Session) -> None:
    client.get("/api/v1/jobs", headers=researcher.headers)
    assert db.scalar(select(ApiToken.last_used_at)) is not None
