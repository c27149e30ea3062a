"""`prefarm stats`, `prefarm annotators …`, `prefarm jobs retry|comparisons|wait` over HTTP."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml
from prefarm_client import PrefarmClient

JUDGE = {
    "name": "cli_judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
    "max_tokens": 4,
    "price_per_mtok_input": 5.0,
}


def judged(prefarm, pairs_file, live_url, researcher) -> int:
    prefarm("jobs", "submit", str(pairs_file(6)))
    with PrefarmClient(live_url, researcher.token) as client:
        client.import_annotations(
            1,
            [{"comparison_id": f"p{n}", "annotator": "judge-x", "preference": 2} for n in range(6)]
            + [
                {
                    "comparison_id": f"p{n}",
                    "annotator": "ann",
                    "annotator_kind": "human",
                    "preference": 1,
                }
                for n in range(3)
            ],
        )
    return 1


def test_stats_writes_the_report_as_json(prefarm, pairs_file, live_url, researcher, tmp_path):
    job = judged(prefarm, pairs_file, live_url, researcher)
    out = tmp_path / "report.json"
    result = prefarm("stats", str(job), "--kinds", "human", "--bootstrap", "0", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["counts"]["judgments"] == 3
    assert report["filters"]["kinds"] == ["human"]


def test_stats_writes_a_table_as_csv(prefarm, pairs_file, live_url, researcher, tmp_path):
    job = judged(prefarm, pairs_file, live_url, researcher)
    out = tmp_path / "win.csv"
    result = prefarm(
        "jobs", "stats", str(job), "--table", "win_rates", "--annotators", "judge-x",
        "--out", str(out), "--bootstrap", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {(r["judge"], r["generator"], float(r["win_rate"])) for r in rows} == {
        ("judge-x", "long-model", 100.0)
    }


def test_stats_writes_every_table_into_a_folder(
    prefarm, pairs_file, live_url, researcher, tmp_path
):
    job = judged(prefarm, pairs_file, live_url, researcher)
    result = prefarm("stats", str(job), "--csv-dir", str(tmp_path / "t"), "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names == sorted(
        f"{t}.csv" for t in ("evaluators", "agreement", "win_rates", "ratings", "calibration")
    )


def test_stats_refuses_a_date_without_a_zone(prefarm, pairs_file, live_url, researcher):
    job = judged(prefarm, pairs_file, live_url, researcher)
    result = prefarm("stats", str(job), "--since", "2026-01-01T00:00:00")
    assert result.exit_code == 1
    assert "since" in result.output


def test_annotators_list_and_show(prefarm) -> None:
    listed = prefarm("annotators", "list")
    assert listed.exit_code == 0, listed.output
    assert "longest" in listed.output and "farm_pool" in listed.output
    shown = json.loads(prefarm("annotators", "show", "longest").output)
    assert shown["config"]["provider"] == "builtin"


def test_annotators_validate_prints_the_prompt_and_the_price(prefarm, tmp_path: Path) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text(yaml.safe_dump(JUDGE))
    sample = tmp_path / "sample.jsonl"
    sample.write_text(
        json.dumps(
            {"instruction": "Name a moon of Mars.", "output_1": "Phobos.", "output_2": "Io."}
        )
        + "\n"
    )
    result = prefarm("annotators", "validate", str(config), "--sample", str(sample))
    assert result.exit_code == 0, result.output
    assert "Name a moon of Mars." in result.output and "Phobos." in result.output
    assert "per 1,000 comparisons:" in result.output and "approximation" in result.output
    assert "cli_judge" not in prefarm("annotators", "list").output  # nothing registered


def test_annotators_register_a_file_of_configs(prefarm, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    pool = {"kind": "pool", "name": "cli_pool", "members": ["cli_judge", "longest"]}
    path.write_text(yaml.safe_dump({"annotators": [JUDGE, pool]}))
    result = prefarm("annotators", "register", str(path))
    assert result.exit_code == 0, result.output
    assert "registered cli_judge" in result.output and "registered cli_pool" in result.output
    again = prefarm("annotators", "register", str(path))  # immutable: the same again is a no-op
    assert again.exit_code == 0
    assert json.loads(prefarm("annotators", "show", "cli_pool").output)["kind"] == "pool"


def test_annotators_register_refuses_a_bad_file(prefarm, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n")
    result = prefarm("annotators", "register", str(path))
    assert result.exit_code == 1
    assert "expected a config mapping" in result.output


def test_a_researcher_cannot_register_a_foreign_address(prefarm, tmp_path: Path) -> None:
    path = tmp_path / "remote.yaml"
    path.write_text(yaml.safe_dump({**JUDGE, "base_url": "http://collector.example/v1"}))
    result = prefarm("annotators", "register", str(path))
    assert result.exit_code == 1
    assert "forbidden" in result.output and "An admin may register" in result.output


def test_jobs_retry_and_comparisons_show_why(run_against, judging_url, admin, pairs_file):
    prefarm = run_against(judging_url, admin.token)
    keyless = {**JUDGE, "name": "keyless", "api_key_env": "PREFARM_TEST_UNSET_KEY"}
    with PrefarmClient(judging_url, admin.token) as client:
        client.register_annotator(keyless)
    submitted = prefarm(
        "jobs", "submit", str(pairs_file(3)), "-a", "keyless", "--wait", "--poll-seconds", "0.1",
        "--timeout", "60",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "job 1: 3 of 3 comparisons judged, 0 judgments" in submitted.output
    assert json.loads(prefarm("jobs", "show", "1").output)["status"] == "done"
    why = prefarm("jobs", "comparisons", "1", "--has-error", "--json")
    errors = [e for row in json.loads(why.output) for e in row["errors"]]
    assert len(errors) == 3 and all("PREFARM_TEST_UNSET_KEY" in e["error"] for e in errors)
    table = prefarm("jobs", "comparisons", "1", "--has-error")
    assert "keyless:" in table.output
    retried = prefarm("jobs", "retry", "1")
    assert retried.exit_code == 0, retried.output
    assert "job 1: 3 failed tasks and 0 unparsed answers queued again" in retried.output
