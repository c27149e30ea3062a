"""Simulated annotators judge conversations (issue 15): the shipped prompts show every turn, in
order and by role, through both SDKs against the fake provider; the cache key covers the
conversation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.annotators.config import AnnotatorConfig, builtin_configs, config_sha256
from app.annotators.judging import Pair, build_request
from app.annotators.sandbox import TemplateLimits
from app.config import Settings
from app.worker.units import cache_key
from tests.fakes.fixtures import expected_preference, marked_pairs

TURNS = [
    {"role": "system", "content": "You are a careful maths tutor."},
    {"role": "user", "content": "What is 6 times 7?"},
    {"role": "assistant", "content": "42."},
    {"role": "user", "content": "And 6 times 8?"},
]


def conversation_pairs(count: int) -> list[dict[str, Any]]:
    """marked_pairs with the conversation above instead of an instruction."""
    rows = marked_pairs(count)
    for row in rows:
        del row["instruction"]
        row["messages"] = TURNS
    return rows


def shown_turns(prompt: str) -> list[tuple[str, str]]:
    turns = re.findall(r'<turn number="\d+" role="(\w+)">\n(.*?)\n</turn>', prompt, re.S)
    return [(role, content) for role, content in turns]


@pytest.mark.parametrize("annotator", ["openai_json", "anthropic_json"])
def test_the_judge_sees_the_whole_conversation(
    annotator, fake_llm, researcher, make_job, post_comparisons, run_worker, annotations_of
):
    job = make_job(researcher, annotators=[annotator], seed=3)
    post_comparisons(researcher, job["id"], conversation_pairs(4))

    run_worker()

    annotations = annotations_of(researcher, job["id"])
    assert [a["preference"] for a in annotations] == [
        expected_preference(a["comparison_id"]) for a in annotations
    ]
    assert len(fake_llm.requests) == 4
    for request in fake_llm.requests:
        assert shown_turns(request.prompt) == [(m["role"], m["content"]) for m in TURNS]
        assert "next turn in this conversation" in request.prompt


@pytest.fixture
def openai_json() -> AnnotatorConfig:
    config = builtin_configs()["openai_json"]
    assert isinstance(config, AnnotatorConfig)
    return config


def key_of(config: AnnotatorConfig, messages: list[dict[str, str]]) -> str:
    pair = Pair(messages[-1]["content"], "", "Answer one.", "Answer two.", messages)
    request = build_request(config, [pair.shown(False)], TemplateLimits.of(Settings()))
    return cache_key(config_sha256(config), request)


def test_the_cache_key_covers_the_earlier_turns(openai_json) -> None:
    other_history = [*TURNS[:2], {"role": "assistant", "content": "48."}, TURNS[3]]
    assert key_of(openai_json, TURNS) != key_of(openai_json, other_history)
    assert key_of(openai_json, TURNS) == key_of(openai_json, [dict(m) for m in TURNS])
