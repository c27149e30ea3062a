"""Fixtures of the CLI tests: `prefarm …` run in-process against a real server over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from prefarm_client.cli import cli
from typer.testing import CliRunner


@pytest.fixture
def run_against(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[..., Result]]:
    """run_against(url, token)("jobs", "list") runs the CLI with PREFARM_URL / PREFARM_TOKEN."""

    def bind(url: str, token: str | None) -> Callable[..., Result]:
        monkeypatch.setenv("PREFARM_URL", url)
        if token is None:
            monkeypatch.delenv("PREFARM_TOKEN", raising=False)
        else:
            monkeypatch.setenv("PREFARM_TOKEN", token)
        return lambda *args: CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})

    return bind


@pytest.fixture
def prefarm(run_against, live_url: str, researcher) -> Callable[..., Result]:
    return run_against(live_url, researcher.token)


@pytest.fixture
def pairs_file(tmp_path: Path) -> Callable[..., Path]:
    def write(count: int, name: str = "pairs.jsonl") -> Path:
        rows: list[dict[str, Any]] = [
            {
                "id": f"p{n}",
                "instruction": f"Name {n + 1} colours.",
                "output_1": "Red.",
                "output_2": ", ".join(["red", "green", "blue", "cyan"][: (n % 3) + 2]) + ".",
                "generator_1": "short-model",
                "generator_2": "long-model",
            }
            for n in range(count)
        ]
        path = tmp_path / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path

    return write
