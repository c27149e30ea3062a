"""`prefarm export` downloads over the API (PREFARM_URL, PREFARM_TOKEN): the same bytes the API
serves, one file per format and split, and never a local database."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prefarm_client.cli import cli
from typer.testing import CliRunner

from tests.exports.conftest import N_INSTRUCTIONS

FORMATS = ("annotations", "alpaca_farm", "trl", "openai_dpo", "hh_rlhf", "arena")


@pytest.fixture
def prefarm(live_url: str, researcher, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The CLI in an empty folder, with no PREFARM_DATABASE_URL, against the live server."""
    monkeypatch.setenv("PREFARM_URL", live_url)
    monkeypatch.setenv("PREFARM_TOKEN", researcher.token)
    monkeypatch.delenv("PREFARM_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, [str(a) for a in args])


def test_export_writes_the_file_the_api_serves(prefarm, download, export_job, tmp_path) -> None:
    out = tmp_path / "prefs.jsonl"
    result = prefarm("export", export_job["id"], "--format", "trl", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == download(format="trl").content
    written = len(out.read_bytes().splitlines())
    assert f"wrote {out} ({written} lines)" in result.output
    assert not list(tmp_path.glob("*.part"))


def test_export_opens_no_local_database(prefarm, export_job, tmp_path) -> None:
    result = prefarm("export", export_job["id"], "--format", "trl", "--out", tmp_path / "x.jsonl")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]


def test_export_picks_parquet_and_gzip_from_the_file_name(
    prefarm, download, export_job, tmp_path
) -> None:
    parquet = tmp_path / "judgments.parquet"
    result = prefarm("export", export_job["id"], "--format", "annotations", "--out", parquet)
    assert result.exit_code == 0, result.output
    lines = download(format="annotations").content.splitlines()
    assert pq.read_table(parquet).num_rows == len(lines)
    packed = tmp_path / "arena.csv.gz"
    assert prefarm("export", export_job["id"], "--format", "arena", "--out", packed).exit_code == 0
    assert gzip.decompress(packed.read_bytes()) == download(format="arena", file_type="csv").content


def test_a_test_fraction_writes_one_file_per_split(prefarm, download, export_job, tmp_path) -> None:
    out = tmp_path / "prefs.jsonl"
    result = prefarm(
        "export", export_job["id"], "--format", "trl", "--out", out, "--test-fraction", "0.3"
    )
    assert result.exit_code == 0, result.output
    train, test = tmp_path / "prefs.train.jsonl", tmp_path / "prefs.test.jsonl"
    assert not out.exists()
    for path, side in ((train, "train"), (test, "test")):
        expected = download(format="trl", test_fraction=0.3, split=side).content
        assert path.read_bytes() == expected and expected
    prompts = {
        side: {json.loads(line)["prompt"] for line in path.read_text().splitlines()}
        for side, path in (("train", train), ("test", test))
    }
    assert prompts["train"].isdisjoint(prompts["test"])
    assert f'"train": "{train}"' in result.output  # how to load the pair with datasets


def test_every_format_per_split_into_a_folder(prefarm, download, export_job, tmp_path) -> None:
    folder = tmp_path / "data"
    job = export_job["id"]
    result = prefarm(
        "export", job, "--format", "all", "--out-dir", folder, "--test-fraction", "0.25"
    )
    assert result.exit_code == 0, result.output
    for name in FORMATS:
        for side in ("train", "test"):
            path = folder / f"job-{job}-{name}.{side}.jsonl"
            expected = download(format=name, test_fraction=0.25, split=side).content
            assert path.read_bytes() == expected, path
    assert len(list(folder.iterdir())) == 2 * len(FORMATS)


def test_a_file_type_a_format_cannot_take_falls_back_to_jsonl(
    prefarm, download, export_job, tmp_path
) -> None:
    job = export_job["id"]
    result = prefarm(
        "export", job, "--format", "openai_dpo", "--format", "trl", "--out-dir", tmp_path,
        "--file-type", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"job-{job}-trl.csv").read_bytes() == download(
        format="trl", file_type="csv"
    ).content
    dpo = tmp_path / f"job-{job}-openai_dpo.jsonl"
    assert dpo.read_bytes() == download(format="openai_dpo").content
    assert "openai_dpo cannot be csv" in result.output


def test_export_refuses_an_unknown_job_and_impossible_options(
    prefarm, export_job, tmp_path
) -> None:
    missing = prefarm("export", 999_999, "--format", "trl", "--out", tmp_path / "x.jsonl")
    assert missing.exit_code == 1 and "job 999999 not found" in missing.output
    csv_dpo = prefarm(
        "export", export_job["id"], "--format", "openai_dpo", "--out", tmp_path / "x.csv"
    )
    assert csv_dpo.exit_code == 1 and "file_type" in csv_dpo.output
    assert list(tmp_path.iterdir()) == []


def test_the_split_sizes_follow_the_instructions(prefarm, export_job, tmp_path) -> None:
    """Each instruction has two comparisons here: both land on the same side."""
    result = prefarm(
        "export", export_job["id"], "--format", "annotations", "--out", tmp_path / "a.jsonl",
        "--test-fraction", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sides = {}
    for side in ("train", "test"):
        for line in (tmp_path / f"a.{side}.jsonl").read_text().splitlines():
            sides.setdefault(json.loads(line)["comparison_id"].split("-")[0], set()).add(side)
    assert len(sides) == N_INSTRUCTIONS
    assert all(len(found) == 1 for found in sides.values())
