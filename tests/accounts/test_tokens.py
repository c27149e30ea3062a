"""API tokens: their owner (or an admin) lists, creates and revokes them over the API; operators
do the same for any account with `prefarm tokens …`; a token may expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prefarm_client.cli import cli
from sqlalchemy import update
from typer.testing import CliRunner

from app.db.models import ApiToken


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_owner_lists_their_tokens_without_the_secret(client: TestClient, researcher) -> None:
    client.get("/api/v1/jobs", headers=researcher.headers)  # records a use
    items = client.get("/api/v1/tokens", headers=researcher.headers).json()["items"]
    assert len(items) == 1
    token = items[0]
    assert (token["owner"], token["name"]) == (researcher.email, "tests")
    assert researcher.token.startswith(token["prefix"])
    assert token["last_used_at"] is not None and token["revoked_at"] is None
    assert researcher.token not in str(items)


def test_a_new_token_is_shown_once_and_works(client: TestClient, researcher) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "laptop"}, headers=researcher.headers
    ).json()
    assert created["token"].startswith(created["prefix"])
    assert client.get("/api/v1/jobs", headers=bearer(created["token"])).status_code == 200
    listed = client.get("/api/v1/tokens", headers=researcher.headers).json()["items"]
    assert [t["name"] for t in listed] == ["tests", "laptop"]
    assert "token" not in listed[1]


def test_a_token_with_an_expiry_is_refused_after_it(client: TestClient, researcher, engine) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "short", "expires_in_days": 1}, headers=researcher.headers
    ).json()
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)
    assert client.get("/api/v1/jobs", headers=bearer(created["token"])).status_code == 200
    with engine.begin() as connection:
        connection.execute(
            update(ApiToken)
            .where(ApiToken.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    refused = client.get("/api/v1/jobs", headers=bearer(created["token"]))
    assert refused.status_code == 401


@pytest.mark.parametrize("days", [0, -1, 4000, "30"])
def test_an_impossible_expiry_is_refused(client: TestClient, researcher, days) -> None:
    response = client.post(
        "/api/v1/tokens", json={"expires_in_days": days}, headers=researcher.headers
    )
    assert response.status_code == 422
    assert len(client.get("/api/v1/tokens", headers=researcher.headers).json()["items"]) == 1


def test_an_owner_revokes_a_token_and_it_stops_working(client: TestClient, researcher) -> None:
    spare = client.post("/api/v1/tokens", json={}, headers=researcher.headers).json()
    revoked = client.delete(f"/api/v1/tokens/{spare['id']}", headers=researcher.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/jobs", headers=bearer(spare["token"])).status_code == 401
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 200


def test_another_researchers_token_is_not_found(client: TestClient, make_account) -> None:
    ada, bob = make_account("researcher"), make_account("researcher")
    bobs = client.get("/api/v1/tokens", headers=bob.headers).json()["items"][0]
    assert client.delete(f"/api/v1/tokens/{bobs['id']}", headers=ada.headers).status_code == 404
    assert client.get("/api/v1/jobs", headers=bob.headers).status_code == 200
    others = client.get("/api/v1/tokens", params={"owner": bob.email}, headers=ada.headers)
    assert others.status_code == 403


def test_admins_list_and_revoke_anyones_tokens(client: TestClient, admin, researcher) -> None:
    everyone = client.get("/api/v1/tokens", params={"owner": "*"}, headers=admin.headers).json()
    assert {t["owner"] for t in everyone["items"]} == {admin.email, researcher.email}
    theirs = client.get(
        "/api/v1/tokens", params={"owner": researcher.email}, headers=admin.headers
    ).json()["items"]
    assert (
        client.delete(f"/api/v1/tokens/{theirs[0]['id']}", headers=admin.headers).status_code == 200
    )
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 401


def test_token_lists_are_keyset_pages(client: TestClient, researcher) -> None:
    for n in range(4):
        client.post("/api/v1/tokens", json={"name": f"t{n}"}, headers=researcher.headers)
    first = client.get("/api/v1/tokens", params={"limit": 3}, headers=researcher.headers).json()
    rest = client.get(
        "/api/v1/tokens",
        params={"limit": 3, "after": first["next_cursor"]},
        headers=researcher.headers,
    ).json()
    names = [t["name"] for t in first["items"] + rest["items"]]
    assert names == ["tests", "t0", "t1", "t2", "t3"] and rest["next_cursor"] is None


@pytest.fixture
def operator(database_url: str, engine, monkeypatch: pytest.MonkeyPatch):
    from app.config import get_settings
    from app.db.engine import get_engine

    monkeypatch.setenv("PREFARM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_operators_list_and_revoke_tokens_of_any_account(
    operator, client: TestClient, researcher, admin
) -> None:
    listed = operator("tokens", "list", "--email", researcher.email)
    assert listed.exit_code == 0, listed.output
    assert researcher.email in listed.stdout and admin.email not in listed.stdout
    token_id = client.get("/api/v1/tokens", headers=researcher.headers).json()["items"][0]["id"]
    revoked = operator("tokens", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked token {token_id}" in revoked.stdout
    assert client.get("/api/v1/jobs", headers=researcher.headers).status_code == 401


def test_operators_create_a_token_that_expires(operator, client: TestClient, researcher) -> None:
    created = operator("tokens", "create", "--email", researcher.email, "--expires-days", "7")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert client.get("/api/v1/jobs", headers=bearer(token)).status_code == 200
    mine = client.get("/api/v1/tokens", headers=bearer(token)).json()["items"]
    assert mine[-1]["expires_at"] is not None


def test_revoking_an_unknown_token_is_an_error(operator) -> None:
    result = operator("tokens", "revoke", 424242)
    assert result.exit_code == 2
    assert "no token with id 424242" in result.output
