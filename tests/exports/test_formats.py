"""Each export format is read back by the libraries trainers use, with the expected columns and
counts; every line names its source comparison."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import datasets
import orjson
import pyarrow.parquet as pq
import pytest

from tests.exports.conftest import JUDGES, N_INSTRUCTIONS, comparisons, majority, preference_of

N_COMPARISONS = 2 * N_INSTRUCTIONS
N_JUDGMENTS = N_COMPARISONS * len(JUDGES)
DECIDED = sum(1 for k in range(N_COMPARISONS) if majority(k))
TIED_JUDGMENTS = sum(preference_of(j, k) == 1.5 for j in JUDGES for k in range(N_COMPARISONS))

COLUMNS = {
    "annotations": {
        "annotation_id", "comparison_id", "generator_1", "generator_2", "annotator",
        "annotator_kind", "repeat", "preference", "label", "shown_swapped", "is_noisy_label",
        "cost_usd", "latency_ms", "seconds_on_task", "created_at", "strength", "guideline_version",
        "rationale", "parse_error", "raw_completion_chars", "config_sha256", "prompt_tokens",
        "completion_tokens", "source",
    },
    "alpaca_farm": {
        "comparison_id", "instruction", "input", "output_1", "output_2", "preference",
        "generator_1", "generator_2",
    },
    "trl": {
        "comparison_id", "prompt", "chosen", "rejected", "chosen_generator", "rejected_generator",
        "vote_agreement",
    },
    "openai_dpo": {"input", "preferred_output", "non_preferred_output"},
    "hh_rlhf": {"comparison_id", "chosen", "rejected"},
    "arena": {
        "comparison_id", "question_id", "model_a", "model_b", "winner", "judge", "anony",
        "tstamp", "turn",
    },
}  # fmt: skip
ROWS = {
    "annotations": N_JUDGMENTS,
    "alpaca_farm": DECIDED,
    "trl": DECIDED,
    "openai_dpo": DECIDED,
    "hh_rlhf": DECIDED,
    "arena": N_JUDGMENTS - TIED_JUDGMENTS,  # exact ties are dropped by default
}


def load(path: Path, builder: str, tmp_path: Path) -> datasets.Dataset:
    return datasets.load_dataset(
        builder, data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )


def saved(tmp_path: Path, response, name: str) -> Path:
    assert response.status_code == 200, response.text
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


@pytest.mark.parametrize("fmt", sorted(COLUMNS))
def test_jsonl_loads_with_datasets(download, tmp_path: Path, fmt: str) -> None:
    response = download(format=fmt)
    assert response.headers["content-type"] == "application/x-ndjson"
    dataset = load(saved(tmp_path, response, f"{fmt}.jsonl"), "json", tmp_path)
    assert set(dataset.column_names) == COLUMNS[fmt]
    assert dataset.num_rows == ROWS[fmt]
    if "comparison_id" in COLUMNS[fmt]:
        assert set(dataset["comparison_id"]) <= {c["id"] for c in comparisons()}


@pytest.mark.parametrize("fmt", ["annotations", "trl"])
def test_parquet_loads_with_datasets_and_pyarrow(download, tmp_path: Path, fmt: str) -> None:
    path = saved(tmp_path, download(format=fmt, file_type="parquet"), f"{fmt}.parquet")
    table = pq.read_table(path)
    assert set(table.column_names) == COLUMNS[fmt]
    assert table.num_rows == ROWS[fmt]
    dataset = load(path, "parquet", tmp_path)
    assert dataset.num_rows == ROWS[fmt]


def test_trl_rows_have_distinct_chosen_and_rejected_and_no_ties(download) -> None:
    lines = [orjson.loads(line) for line in download(format="trl").content.splitlines()]
    assert len(lines) == DECIDED
    assert all(line["chosen"] != line["rejected"] for line in lines)
    index = {c["id"]: k for k, c in enumerate(comparisons())}
    for line in lines:
        k = index[line["comparison_id"]]
        side = "1" if majority(k) == 1 else "2"
        other = "2" if side == "1" else "1"
        assert line["chosen"] == comparisons()[k][f"output_{side}"]
        assert line["chosen_generator"] == comparisons()[k][f"generator_{side}"]
        assert line["rejected_generator"] == comparisons()[k][f"generator_{other}"]
        assert 0 < line["vote_agreement"] <= 1
        assert "margin" not in line  # TRL would train toward it as a reward gap


def test_conversational_trl_has_message_lists_in_parquet(download, tmp_path: Path) -> None:
    response = download(format="trl", file_type="parquet", conversational="true")
    row = pq.read_table(saved(tmp_path, response, "conv.parquet")).to_pylist()[0]
    assert row["prompt"][0]["role"] == "user"
    assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"


def test_mean_aggregation_and_minimum_judgments(download) -> None:
    mean_lines = download(format="alpaca_farm", aggregate="mean").content.splitlines()
    mean_ties = sum(
        sum(preference_of(j, k) for j in JUDGES) == 1.5 * len(JUDGES) for k in range(N_COMPARISONS)
    )
    assert mean_ties > 0 and len(mean_lines) == N_COMPARISONS - mean_ties
    assert download(format="trl", min_judgments=4).content == b""
    human_only = download(format="trl", kinds="human").content.splitlines()
    assert len(human_only) == N_COMPARISONS  # one decisive human judgment each


def test_ties_are_kept_where_the_format_can_say_so(download) -> None:
    arena = [orjson.loads(x) for x in download(format="arena", ties="keep").content.splitlines()]
    assert len(arena) == N_JUDGMENTS
    assert {line["winner"] for line in arena} == {"model_a", "model_b", "tie"}


def test_alpaca_farm_refuses_to_keep_ties_it_cannot_encode(download) -> None:
    response = download(format="alpaca_farm", ties="keep")
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["field"] == "ties" and "AlpacaFarm" in detail["reason"]


def test_alpaca_farm_preferences_are_the_integers_alpaca_farm_reads(download) -> None:
    lines = [orjson.loads(x) for x in download(format="alpaca_farm").content.splitlines()]
    assert len(lines) == DECIDED
    # AlpacaFarm's reward-model preprocessing: label = {1: 0, 2: 1}[preference].
    labels = [{1: 0, 2: 1}[line["preference"]] for line in lines]
    assert set(labels) == {0, 1}


def test_train_test_split_keeps_each_instruction_on_one_side(download) -> None:
    lines = [
        orjson.loads(x)
        for x in download(format="alpaca_farm", test_fraction=0.5).content.splitlines()
    ]
    sides: dict[str, set[str]] = {}
    for line in lines:
        sides.setdefault(line["instruction"], set()).add(line["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert {"train", "test"} == set().union(*sides.values())
    test_only = [
        orjson.loads(x)
        for x in download(
            format="alpaca_farm", test_fraction=0.5, split="test"
        ).content.splitlines()
    ]
    assert test_only == [line for line in lines if line["split"] == "test"]
    again = download(format="alpaca_farm", test_fraction=0.5).content
    assert [orjson.loads(x) for x in again.splitlines()] == lines  # seeded: the same split


def test_gzip_and_csv(download) -> None:
    plain = download(format="annotations", file_type="csv").content
    packed = download(format="annotations", file_type="csv", gzip="true")
    assert packed.headers["content-type"] == "application/gzip"
    assert gzip.decompress(packed.content) == plain
    rows = plain.decode().splitlines()
    assert rows[0].startswith("annotation_id,comparison_id,")
    assert len(rows) == N_JUDGMENTS + 1
    import csv

    parsed = list(csv.DictReader(io.StringIO(plain.decode())))
    assert {row["annotator"] for row in parsed} == set(JUDGES)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "openai_dpo", "file_type": "csv"}, "file_type"),
        ({"format": "arena", "file_type": "parquet"}, "file_type"),
        ({"format": "trl", "ties": "keep"}, "ties"),
        ({"format": "trl", "file_type": "parquet", "gzip": "true"}, "gzip"),
        ({"format": "trl", "split": "test"}, "split"),
        ({"format": "trl", "conversational": "true", "file_type": "csv"}, "file_type"),
        ({"format": "pickle"}, "format"),
        ({"format": "trl", "min_judgments": 0}, "min_judgments"),
    ],
)
def test_options_a_format_cannot_honour_are_a_422(download, params, field) -> None:
    response = download(**params)
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert body["details"][0]["field"] == field


def test_another_researchers_job_is_not_found(client, make_account, export_job) -> None:
    stranger = make_account("researcher")
    response = client.get(
        f"/api/v1/jobs/{export_job['id']}/export",
        params={"format": "trl"},
        headers=stranger.headers,
    )
    assert response.status_code == 404
