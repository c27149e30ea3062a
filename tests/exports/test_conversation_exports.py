"""Conversations in every dataset format that can hold one (issue 15): each export is loaded
back with `datasets`; TRL's own functions read the conversational rows; AlpacaFarm's format and
a flat TRL prompt refuse a job with conversations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
from fastapi.testclient import TestClient

from tests.conftest import gold_judgments
from tests.exports.test_trl_reads_the_export import tokenizer  # noqa: F401 (the fixture)


@pytest.fixture
def conversation_job(researcher, judged_job, sample_conversations) -> dict[str, Any]:
    return judged_job(
        researcher, sample_conversations, gold_judgments(sample_conversations), name="chats"
    )


@pytest.fixture
def by_id(sample_conversations) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in sample_conversations}


@pytest.fixture
def export(client: TestClient, researcher, conversation_job):
    def get(**params: Any):
        return client.get(
            f"/api/v1/jobs/{conversation_job['id']}/export",
            params=params,
            headers=researcher.headers,
        )

    return get


@pytest.fixture
def load(export, tmp_path: Path):
    def read(**params: Any) -> datasets.Dataset:
        response = export(**params)
        assert response.status_code == 200, response.text
        path = tmp_path / f"{params['format']}.jsonl"
        path.write_bytes(response.content)
        return datasets.load_dataset(
            "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
        )

    return read


def as_messages(candidate: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return (
        candidate if isinstance(candidate, list) else [{"role": "assistant", "content": candidate}]
    )


def gold_sides(row: dict[str, Any]) -> tuple[Any, Any]:
    """(chosen, rejected) as posted."""
    first, second = row["output_1"], row["output_2"]
    return (first, second) if row["gold_preference"] == 1 else (second, first)


def test_trl_prompt_is_the_conversation_and_trl_reads_it(load, by_id, tokenizer) -> None:  # noqa: F811
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    dataset = load(format="trl", conversational="true")
    assert len(dataset) == len(by_id)
    for example in dataset:
        posted = by_id[example["comparison_id"]]
        chosen, rejected = gold_sides(posted)
        assert is_conversational(example)
        assert example["prompt"] == posted["messages"]
        assert example["chosen"] == as_messages(chosen)
        assert example["rejected"] == as_messages(rejected)
        text = maybe_apply_chat_template(example, tokenizer)
        turns = "".join(f"<|{m['role']}|>{m['content']}\n" for m in posted["messages"])
        assert text["prompt"] == turns + "<|assistant|>"


def test_openai_dpo_input_messages_are_the_conversation(export, by_id) -> None:
    response = export(format="openai_dpo", trace="true")
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert {line["comparison_id"] for line in lines} == set(by_id)
    for line in lines:
        posted = by_id[line["comparison_id"]]
        chosen, rejected = gold_sides(posted)
        assert line["input"] == {"messages": posted["messages"]}
        assert line["preferred_output"] == as_messages(chosen)
        assert line["non_preferred_output"] == as_messages(rejected)


def test_a_multi_message_candidate_stays_a_message_list(export) -> None:
    lines = export(format="openai_dpo", trace="true").text.splitlines()
    [tool_use] = [line for line in lines if '"conv-07"' in line]
    assert [m["role"] for m in json.loads(tool_use)["preferred_output"]] == ["assistant"] * 3


def hh(messages: list[dict[str, str]]) -> str:
    """The HH transcript written out by hand: a system message as text before `Human:`."""
    out = ""
    for m in messages:
        if m["role"] == "system":
            out += m["content"]
        else:
            out += f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}"
    return out + "\n\nAssistant: "


def test_hh_rlhf_is_the_whole_transcript(load, by_id) -> None:
    dataset = load(format="hh_rlhf")
    for example in dataset:
        posted = by_id[example["comparison_id"]]
        chosen, rejected = gold_sides(posted)
        joined = ["\n\n".join(m["content"] for m in as_messages(c)) for c in (chosen, rejected)]
        assert example["chosen"] == hh(posted["messages"]) + joined[0]
        assert example["rejected"] == hh(posted["messages"]) + joined[1]


def test_hh_rlhf_puts_a_system_message_before_the_first_human_turn(load) -> None:
    [bakery] = [e for e in load(format="hh_rlhf") if e["comparison_id"] == "conv-02"]
    assert bakery["chosen"].startswith(
        "You are a concise assistant for a bakery. Answer in at most two sentences.\n\nHuman: "
    )


def test_arena_battles_carry_both_conversations_and_the_turn(load, by_id) -> None:
    dataset = load(format="arena", conversational="true")
    assert len(dataset) == len(by_id)
    for battle in dataset:
        posted = by_id[battle["comparison_id"]]
        sides = {
            posted["generator_1"]: posted["output_1"],
            posted["generator_2"]: posted["output_2"],
        }
        assert battle["turn"] == sum(m["role"] == "user" for m in posted["messages"])
        for field, model in (("conversation_a", "model_a"), ("conversation_b", "model_b")):
            assert battle[field] == posted["messages"] + as_messages(sides[battle[model]])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "alpaca_farm"}, "format"),
        ({"format": "trl"}, "conversational"),
    ],
)
def test_formats_without_conversations_refuse_the_job(export, params, field) -> None:
    response = export(**params)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == field
    assert "conversation" in detail["reason"]


def test_conversational_trl_parquet_holds_the_same_rows(export, load, tmp_path: Path) -> None:
    response = export(format="trl", conversational="true", file_type="parquet")
    assert response.status_code == 200, response.text
    path = tmp_path / "trl.parquet"
    path.write_bytes(response.content)
    parquet = datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-parquet")
    )
    jsonl = load(format="trl", conversational="true")
    columns = ("comparison_id", "prompt", "chosen", "rejected")
    assert [[row[c] for c in columns] for row in parquet] == [
        [row[c] for c in columns] for row in jsonl
    ]
