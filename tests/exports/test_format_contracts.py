"""What each format promises its reader: OpenAI's keys only, FastChat's battle fields with the
sides the judge saw, one file per split that `datasets` reads as a DatasetDict, and judgments
with everything the API listing has (issues 12.7, 13.3, 13.4, 17.4)."""

from __future__ import annotations

from pathlib import Path

import datasets
import orjson
import pytest
from fastapi.testclient import TestClient

from tests.exports.conftest import N_INSTRUCTIONS, comparisons
from tests.stats.conftest import judgment, pair


def lines(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_openai_dpo_lines_have_only_the_documented_keys(download) -> None:
    for line in lines(download(format="openai_dpo")):
        assert set(line) == {"input", "preferred_output", "non_preferred_output"}
        assert set(line["input"]) == {"messages"}


def test_openai_dpo_names_the_comparison_only_when_asked(download) -> None:
    traced = lines(download(format="openai_dpo", trace="true"))
    assert {line["comparison_id"] for line in traced} <= {c["id"] for c in comparisons()}


def test_arena_battles_have_the_fields_fastchat_needs(download) -> None:
    battles = lines(download(format="arena"))
    assert all(b["anony"] is True and b["turn"] == 1 for b in battles)
    assert all(isinstance(b["tstamp"], float) and b["tstamp"] > 1.7e9 for b in battles)


def test_arena_sides_are_the_sides_the_judge_saw(download) -> None:
    """Every other comparison of the fixture was shown swapped (output_2 first)."""
    index = {c["id"]: k for k, c in enumerate(comparisons())}
    for battle in lines(download(format="arena", ties="keep")):
        k = index[battle["comparison_id"]]
        shown_first = comparisons()[k]["generator_2" if k % 2 == 1 else "generator_1"]
        assert battle["model_a"] == shown_first


def test_arena_sides_of_judgments_without_a_shown_order_are_a_seeded_coin(
    client: TestClient, researcher, judged_job
) -> None:
    rows = [pair(n) for n in range(40)]
    job = judged_job(researcher, rows, [judgment(f"c{n}", "judge", 2.0) for n in range(40)])

    def arena() -> list[dict]:
        response = client.get(
            f"/api/v1/jobs/{job['id']}/export",
            params={"format": "arena"},
            headers=researcher.headers,
        )
        return lines(response)

    battles = arena()
    first_is_a = sum(b["model_a"] == "model-a" for b in battles)
    assert 0 < first_is_a < 40  # not always output_1
    for b in battles:  # output_2 won every judgment, whichever side it is on
        assert b["winner"] == ("model_b" if b["model_b"] == "model-b" else "model_a")
    assert arena() == battles  # seeded: the same file again


def test_judgment_export_has_the_rationale_parse_error_answer_length_and_config(
    client: TestClient, researcher, judged_job
) -> None:
    rows = [
        judgment("c1", "judge", 2.0, rationale="B is clearer.", raw_completion="B because..."),
        judgment("c2", "judge", 1.0),
    ]
    job = judged_job(researcher, [pair(1), pair(2)], rows)
    response = client.get(
        f"/api/v1/jobs/{job['id']}/export",
        params={"format": "annotations"},
        headers=researcher.headers,
    )
    first, second = lines(response)
    assert first["rationale"] == "B is clearer."
    assert first["raw_completion_chars"] == len("B because...")
    assert first["parse_error"] is None and first["source"] == "imported"
    assert second["rationale"] is None and second["raw_completion_chars"] is None
    assert "config_sha256" in first


@pytest.mark.parametrize("fmt", ["trl", "annotations", "arena"])
def test_one_file_per_split_loads_as_a_dataset_dict_without_shared_prompts(
    download, tmp_path: Path, fmt: str
) -> None:
    files = {}
    for split in ("train", "test"):
        response = download(format=fmt, test_fraction=0.5, split=split)
        assert response.status_code == 200, response.text
        assert f"-{split}.jsonl" in response.headers["content-disposition"]
        files[split] = tmp_path / f"{fmt}-{split}.jsonl"
        files[split].write_bytes(response.content)
    loaded = datasets.load_dataset(
        "json",
        data_files={name: str(path) for name, path in files.items()},
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert isinstance(loaded, datasets.DatasetDict)
    assert set(loaded) == {"train", "test"}
    topic = {c["id"]: c["instruction"] for c in comparisons()}
    prompts = {
        name: {topic[cid] for cid in loaded[name]["comparison_id"]} for name in ("train", "test")
    }
    assert prompts["train"] and prompts["test"]
    assert prompts["train"].isdisjoint(prompts["test"])
    everything = lines(download(format=fmt))
    assert loaded["train"].num_rows + loaded["test"].num_rows == len(everything)
    assert len(prompts["train"] | prompts["test"]) == N_INSTRUCTIONS
