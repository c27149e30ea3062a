"""`prefarm jobs submit FILE [--wait]`: a file becomes a job, judged while a bar shows progress."""

from __future__ import annotations

import json

from prefarm_client import PrefarmClient


def test_submit_wait_runs_a_job_from_a_file(run_against, judging_url, researcher, pairs_file):
    prefarm = run_against(judging_url, researcher.token)
    path = pairs_file(24)
    result = prefarm(
        "jobs",
        "submit",
        str(path),
        "-a",
        "longest",
        "--wait",
        "--batch-size",
        "10",
        "--poll-seconds",
        "0.1",
    )
    assert result.exit_code == 0, result.output
    assert "job 1: pairs.jsonl" in result.output
    assert "24 comparisons added, 0 already there" in result.output
    assert "judging" in result.output
    assert "job 1: 24 of 24 comparisons judged, 24 judgments" in result.output
    with PrefarmClient(judging_url, researcher.token) as client:
        judgments = client.annotations(1)
    assert {a["preference"] for a in judgments} == {2.0}  # the longer output_2, every time


def test_submitting_the_same_file_again_reuses_its_job(prefarm, pairs_file) -> None:
    path = pairs_file(5)
    prefarm("jobs", "submit", str(path))
    again = prefarm("jobs", "submit", str(path))
    assert again.exit_code == 0
    assert "job 1: 0 comparisons added, 5 already there" in again.output
    assert len(json.loads(prefarm("jobs", "list", "--json").output)) == 1


def test_submit_to_an_existing_job(prefarm, pairs_file) -> None:
    prefarm("jobs", "create", "--name", "target", "--routing", "human")
    result = prefarm("jobs", "submit", str(pairs_file(3)), "--job", "1")
    assert "job 1: 3 comparisons added" in result.output
    job = json.loads(prefarm("jobs", "show", "1").output)
    assert (job["name"], job["progress"]["comparisons"]) == ("target", 3)


def test_a_bad_row_is_reported_and_nothing_of_its_batch_stored(prefarm, tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "a", "instruction": "x", "output_1": "1", "output_2": "2"})
        + "\n"
        + json.dumps({"id": "b", "instruction": "x", "output_1": "1", "gold_preference": 7})
        + "\n"
    )
    result = prefarm("jobs", "submit", str(path), "--name", "bad")
    assert result.exit_code == 1
    assert "invalid_rows" in result.output
    assert '"row": 2' in result.output and "output_2" in result.output
    job = json.loads(prefarm("jobs", "show", "1").output)
    assert job["progress"]["comparisons"] == 0


def test_an_unreadable_file_is_reported_with_its_line(prefarm, tmp_path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"instruction": "x"\n')
    result = prefarm("jobs", "submit", str(path))
    assert result.exit_code == 1
    assert "broken.jsonl:1: not JSON" in result.output


def test_alpaca_eval_outputs_are_paired_against_the_reference(
    prefarm, alpaca_outputs, tmp_path
) -> None:
    def outputs(generator: str) -> list[dict]:
        return [r for r in alpaca_outputs if r["generator"] == generator][:15]

    (tmp_path / "model_outputs.json").write_text(json.dumps(outputs("alpaca-7b")))
    (tmp_path / "reference.json").write_text(json.dumps(outputs("gpt4_1106_preview")[:12]))
    result = prefarm(
        "jobs",
        "submit",
        str(tmp_path / "model_outputs.json"),
        "--reference",
        str(tmp_path / "reference.json"),
    )
    assert result.exit_code == 0, result.output
    assert "3 instructions are answered by only one generator" in result.output
    assert "12 comparisons added" in result.output
    job = json.loads(prefarm("jobs", "show", "1").output)
    assert job["reference_generator"] == "gpt4_1106_preview"


def test_jobs_stats_prints_the_tables(prefarm, pairs_file, live_url, researcher) -> None:
    prefarm("jobs", "submit", str(pairs_file(12)))
    with PrefarmClient(live_url, researcher.token) as client:
        client.import_annotations(
            1,
            [
                {"comparison_id": f"p{n}", "annotator": "judge-x", "preference": 2}
                for n in range(12)
            ],
        )
    result = prefarm("jobs", "stats", "1")
    assert result.exit_code == 0, result.output
    for title in ("evaluators", "agreement", "win_rates", "ratings"):
        assert title in result.output
    assert "judge-x" in result.output
    assert "long-model" in result.output and "short-model" in result.output
    report = json.loads(prefarm("jobs", "stats", "1", "--json").output)
    # every judgment preferred long-model, the output_2 of each pair
    assert [(w["generator"], w["opponent"], w["win_rate"]) for w in report["win_rates"]] == [
        ("long-model", "short-model", 100.0)
    ]
