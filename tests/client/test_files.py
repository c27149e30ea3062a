"""Reading comparison files: JSONL, CSV, JSON arrays and AlpacaEval model outputs."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from prefarm_client import ComparisonFileError, PrefarmClient, read_comparisons


def _outputs_of(alpaca_outputs, generator: str, count: int) -> list[dict]:
    return [r for r in alpaca_outputs if r["generator"] == generator][:count]


def test_alpaca_eval_outputs_are_paired_by_instruction(alpaca_outputs, tmp_path: Path) -> None:
    model = _outputs_of(alpaca_outputs, "alpaca-7b", 30)
    reference = _outputs_of(alpaca_outputs, "gpt4_1106_preview", 30)[2:]  # 2 have no partner
    (tmp_path / "model_outputs.json").write_text(json.dumps(list(reversed(model))))
    (tmp_path / "reference_outputs.json").write_text(json.dumps(reference))
    pairs = read_comparisons(
        tmp_path / "model_outputs.json", reference=tmp_path / "reference_outputs.json"
    )
    assert len(pairs.rows) == 28
    assert pairs.unmatched == 2
    model_answer = {r["instruction"]: r["output"] for r in model}
    for row in pairs.rows:
        assert (row["generator_1"], row["generator_2"]) == ("gpt4_1106_preview", "alpaca-7b")
        assert row["output_2"] == model_answer[row["instruction"]]


def test_pair_ids_are_stable_so_resubmitting_adds_nothing(alpaca_outputs, tmp_path) -> None:
    claude = _outputs_of(alpaca_outputs, "claude-2.1", 5)
    alpaca = _outputs_of(alpaca_outputs, "alpaca-7b", 5)
    (tmp_path / "two.json").write_text(json.dumps(claude + alpaca))
    first = read_comparisons(tmp_path / "two.json")
    (tmp_path / "two.json").write_text(json.dumps(claude[::-1] + alpaca[::-1]))
    second = read_comparisons(tmp_path / "two.json")
    assert first.generators == ("claude-2.1", "alpaca-7b")
    assert len(first.rows) == 5
    assert sorted(r["id"] for r in first.rows) == sorted(r["id"] for r in second.rows)


def test_one_file_with_three_generators_needs_a_reference(alpaca_outputs, tmp_path) -> None:
    three = [
        r
        for g in ("alpaca-7b", "claude-2.1", "gpt4_1106_preview")
        for r in _outputs_of(alpaca_outputs, g, 2)
    ]
    (tmp_path / "three.json").write_text(json.dumps(three))
    with pytest.raises(ComparisonFileError, match="3 generator"):
        read_comparisons(tmp_path / "three.json")


def test_csv_columns_and_extra_columns_become_metadata(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "instruction", "output_1", "output_2", "gold_preference", "topic"])
        writer.writerow(["a", "Say hi", "hi", "hello, there", "2", "greetings"])
        writer.writerow(["b", "Say bye", "bye", 'so long, "friend"\nsee you', "", ""])
    rows = read_comparisons(path).rows
    assert rows[0] == {
        "id": "a",
        "instruction": "Say hi",
        "output_1": "hi",
        "output_2": "hello, there",
        "gold_preference": 2.0,
        "metadata": {"topic": "greetings"},
    }
    assert rows[1]["gold_preference"] is None
    assert rows[1]["output_2"] == 'so long, "friend"\nsee you'
    assert "metadata" not in rows[1]


def test_gzipped_jsonl_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps({"instruction": "x", "output_1": "a", "output_2": "b"}) + "\n\n")
    assert read_comparisons(path).rows == [{"instruction": "x", "output_1": "a", "output_2": "b"}]


def test_a_broken_jsonl_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"instruction": "x", "output_1": "a", "output_2": "b"}\n{"instruction": \n')
    with pytest.raises(ComparisonFileError, match=r"pairs.jsonl:2: not JSON"):
        read_comparisons(path)


def test_an_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("hello")
    with pytest.raises(ComparisonFileError, match=r"expected a \.jsonl"):
        read_comparisons(path)


def test_paired_outputs_submit_through_the_api(prefarm: PrefarmClient, alpaca_outputs, tmp_path):
    model = _outputs_of(alpaca_outputs, "claude-2.1", 12)
    reference = _outputs_of(alpaca_outputs, "gpt4_1106_preview", 12)
    (tmp_path / "model_outputs.json").write_text(json.dumps(model))
    (tmp_path / "reference.json").write_text(json.dumps(reference))
    job_id = prefarm.create_job("claude vs gpt4", reference_generator="gpt4_1106_preview")["id"]
    first = prefarm.submit_file(
        job_id, tmp_path / "model_outputs.json", reference=tmp_path / "reference.json"
    )
    again = prefarm.submit_file(
        job_id, tmp_path / "model_outputs.json", reference=tmp_path / "reference.json"
    )
    assert (first.created, again.created, again.unchanged) == (12, 0, 12)
    stored = prefarm.comparisons(job_id)
    assert {c["instruction"] for c in stored} == {r["instruction"] for r in model}
    assert {c["generator_2"] for c in stored} == {"claude-2.1"}


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("id,instruction,output_1,output_2\n")
    with pytest.raises(ComparisonFileError, match="no comparisons"):
        read_comparisons(path)
