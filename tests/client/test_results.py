"""Statistics and exports through the client (judgments imported, so no worker is needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefarm_client import PrefarmClient, PrefarmError


@pytest.fixture
def judged_job(prefarm: PrefarmClient, rows) -> int:
    """10 pairs; a simulated judge prefers the wordy output_2 of all, a human the terse of 4."""
    job_id = prefarm.create_job("judged", reference_generator="terse")["id"]
    prefarm.submit_comparisons(job_id, rows(10))
    judgments = [
        {"comparison_id": f"c{n}", "annotator": "judge-a", "preference": 2.0} for n in range(10)
    ]
    judgments += [
        {
            "comparison_id": f"c{n}",
            "annotator": "ann",
            "annotator_kind": "human",
            "label": "output_1",
        }
        for n in range(4)
    ]
    prefarm.import_annotations(job_id, judgments)
    return job_id


def test_stats_give_win_rates_per_judge(prefarm: PrefarmClient, judged_job: int) -> None:
    report = prefarm.stats(judged_job, bootstrap=0)
    rates = {(w["judge"], w["generator"]): w["win_rate"] for w in report["win_rates"]}
    assert rates[("judge-a", "wordy")] == 100.0
    assert rates[("ann", "wordy")] == 0.0


def test_stats_filters_are_sent(prefarm: PrefarmClient, judged_job: int) -> None:
    report = prefarm.stats(judged_job, kinds=["human"], bootstrap=0)
    assert report["counts"]["judgments"] == 4
    assert {e["annotator"] for e in report["evaluators"]} <= {"ann", "humans"}


def test_stats_tables_as_dataframes(prefarm: PrefarmClient, judged_job: int) -> None:
    pytest.importorskip("pandas")
    report = prefarm.stats(judged_job, as_frame=True, bootstrap=0)
    evaluators = report["evaluators"].set_index("annotator")
    assert evaluators.loc["judge-a", "n_judgments"] == 10
    assert report["reference_generator"] == "terse"


def test_export_streams_to_a_file(prefarm: PrefarmClient, judged_job: int, tmp_path) -> None:
    out = prefarm.export(judged_job, tmp_path / "prefs.jsonl", format="trl", kinds="simulated")
    lines = [json.loads(line) for line in Path(out).read_text().splitlines()]
    assert len(lines) == 10
    assert all(line["chosen"].startswith("The number is") for line in lines)
    assert not list(tmp_path.glob("*.part"))


def test_iter_export_yields_rows(prefarm: PrefarmClient, judged_job: int) -> None:
    rows = list(prefarm.iter_export(judged_job, format="alpaca_farm", annotators=["judge-a"]))
    assert [r["preference"] for r in rows] == [2] * 10
    assert {r["comparison_id"] for r in rows} == {f"c{n}" for n in range(10)}


def test_an_impossible_export_is_an_api_error(prefarm, judged_job, tmp_path) -> None:
    with pytest.raises(PrefarmError) as raised:
        prefarm.export(judged_job, tmp_path / "x.csv", format="openai_dpo", file_type="csv")
    assert raised.value.status == 422
    assert not (tmp_path / "x.csv").exists()
