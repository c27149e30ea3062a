"""`prefarm export JOB --format … --out FILE` writes the same dataset as the API."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prefarm_client.cli import cli
from typer.testing import CliRunner

from app.config import get_settings


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str):
    monkeypatch.setenv("PREFARM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [str(a) for a in args])
    get_settings.cache_clear()


def test_export_writes_the_file_the_api_serves(
    run_cli, download, export_job, tmp_path: Path
) -> None:
    out = tmp_path / "prefs.jsonl"
    result = run_cli("export", export_job["id"], "--format", "trl", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == download(format="trl").content
    written = len(out.read_bytes().splitlines())
    assert f"wrote {written} lines" in result.output


def test_export_picks_parquet_and_gzip_from_the_file_name(
    run_cli, download, export_job, tmp_path: Path
) -> None:
    parquet = tmp_path / "judgments.parquet"
    assert (
        run_cli("export", export_job["id"], "--format", "annotations", "--out", parquet).exit_code
        == 0
    )
    assert pq.read_table(parquet).num_rows == len(
        download(format="annotations").content.splitlines()
    )
    packed = tmp_path / "arena.csv.gz"
    assert run_cli("export", export_job["id"], "--format", "arena", "--out", packed).exit_code == 0
    import gzip

    assert gzip.decompress(packed.read_bytes()) == download(format="arena", file_type="csv").content


def test_export_refuses_an_unknown_job_and_impossible_options(
    run_cli, export_job, tmp_path: Path
) -> None:
    missing = run_cli("export", 999_999, "--format", "trl", "--out", tmp_path / "x.jsonl")
    assert missing.exit_code == 2 and "not found" in missing.output
    csv_dpo = run_cli(
        "export", export_job["id"], "--format", "openai_dpo", "--out", tmp_path / "x.csv"
    )
    assert csv_dpo.exit_code == 2 and "file_type" in csv_dpo.output
    assert not (tmp_path / "x.csv").exists()
