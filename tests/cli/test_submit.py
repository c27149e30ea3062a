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


def test_a_file_with_a_bad_row_leaves_no_job_behind(prefarm, tmp_path) -> None:
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
    assert json.loads(prefarm("jobs", "list", "--json").output) == []


def test_a_bad_row_in_a_later_batch_stores_nothing_in_an_existing_job(prefarm, tmp_path) -> None:
    prefarm("jobs", "create", "--name", "target")
    rows = [{"id": f"r{n}", "instruction": "x", "output_1": "1", "output_2": "2"} for n in range(5)]
    rows[4] = {"id": "r4", "instruction": "", "output_1": "1", "output_2": "2"}
    path = tmp_path / "late.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = prefarm("jobs", "submit", str(path), "--job", "1", "--batch-size", "2")
    assert result.exit_code == 1
    assert '"row": 5' in result.output
    assert json.loads(prefarm("jobs", "show", "1").output)["progress"]["comparisons"] == 0


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


def test_submit_sets_budget_routing_and_overlap(prefarm, pairs_file) -> None:
    result = prefarm(
        "jobs", "submit", str(pairs_file(4)), "-a", "longest", "--budget-usd", "2.5",
        "--routing", "mixed", "--human-fraction", "0.25", "--calibration-fraction", "0.1",
        "--human-overlap", "3", "--seed", "9",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    job = json.loads(prefarm("jobs", "show", "1").output)
    assert job["budget_usd"] == 2.5 and job["human_overlap"] == 3 and job["seed"] == 9
    assert job["routing"] == {
        "policy": "mixed",
        "human_fraction": 0.25,
        "calibration_fraction": 0.1,
    }


def test_dry_run_prints_the_plan_and_its_cost_and_creates_nothing(
    prefarm, pairs_file, live_url, admin
) -> None:
    judge = {
        "name": "dear_judge",
        "provider": "openai",
        "model": "gpt-4o",
        "prompt": "direct_choice",
        "parser": "label",
        "max_tokens": 10,
        "price_per_mtok_input": 1000.0,
        "price_per_mtok_output": 0.0,
    }
    path = pairs_file(40)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    with PrefarmClient(live_url, admin.token) as as_admin:
        as_admin.register_annotator(judge)
        priced = as_admin.validate_annotator(name="dear_judge", comparisons=rows[:20])
    expected_usd = 20 * priced["usd_per_1000_comparisons"] / 1000  # half of 40 are simulated
    result = prefarm(
        "jobs", "submit", str(path), "-a", "dear_judge", "-a", "longest",
        "--routing", "mixed", "--human-fraction", "0.5", "--budget-usd", "0.01", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "plan: 40 comparisons, routing mixed: about 20 for simulated annotators" in result.output
    assert "dear_judge" in result.output and "longest" in result.output
    assert "the budget stops the job before the end" in result.output
    assert "dry run: no job created" in result.output
    assert f"estimated cost: ${expected_usd:.4f}" in result.output
    assert json.loads(prefarm("jobs", "list", "--json").output) == []
