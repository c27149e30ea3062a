"""Operator commands say which database they use and never create one by accident."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefarm_client.cli import cli
from typer.testing import CliRunner

from app.cli import shown_url


@pytest.fixture
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from app.config import get_settings
    from app.db.engine import get_engine

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PREFARM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.mark.parametrize(
    "command",
    [
        ("tokens", "create", "--email", "ada@example.org"),
        ("tokens", "list"),
        ("users", "create", "--email", "ada@example.org", "--role", "researcher"),
        ("worker", "--until-idle"),
    ],
)
def test_a_missing_sqlite_file_stops_the_command_and_is_not_created(
    in_empty_folder, tmp_path: Path, command
) -> None:
    result = in_empty_folder(*command)
    assert result.exit_code == 2
    expected = tmp_path.resolve() / "prefarm.db"
    assert "database: sqlite:///./prefarm.db" in result.output
    assert f"there is no database at {expected}" in result.output
    assert "PREFARM_DATABASE_URL" in result.output
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_creates_the_database_it_names(in_empty_folder, tmp_path: Path) -> None:
    result = in_empty_folder("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database: sqlite:///./prefarm.db" in result.output
    assert (tmp_path / "prefarm.db").exists()
    listed = in_empty_folder("tokens", "list")  # now there is one to use
    assert listed.exit_code == 0, listed.output


def test_the_printed_url_hides_the_password() -> None:
    shown = shown_url("postgresql+psycopg://prefarm:s3cret@db.internal:5432/prefarm")
    assert shown == "postgresql+psycopg://prefarm:***@db.internal:5432/prefarm"
