"""Annotator configs: the shipped YAML, validation with clear errors, and version hashes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.annotators.config import (
    AnnotatorConfig,
    ConfigError,
    PoolConfig,
    builtin_configs,
    config_sha256,
    parse_config,
)
from app.annotators.prompts import ShownItem, render, shipped_prompts
from app.annotators.sandbox import TemplateLimits
from app.annotators.seeding import pool_member, shown_swapped

BASE = {
    "name": "judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
}


def test_every_shipped_config_is_valid_and_renders():
    configs = builtin_configs()
    assert {"longest", "random", "openai_label", "anthropic_tool", "farm_pool"} <= set(configs)
    for config in configs.values():
        if isinstance(config, AnnotatorConfig) and config.provider != "builtin":
            items = [ShownItem("Say hi", "", "Hi", "Hello")] * config.batch_size
            messages = render(config, items, TemplateLimits())
            assert "Hi" in messages.user and messages.system


def test_the_shipped_prompts_are_the_four_kinds():
    assert set(shipped_prompts()) == {"direct_choice", "json_reason", "logprob", "batch"}


def test_the_farm_pool_differs_in_prompt_persona_model_and_batch_size():
    configs = builtin_configs()
    pool = configs["farm_pool"]
    assert isinstance(pool, PoolConfig) and len(pool.members) >= 8
    members = [configs[m] for m in pool.members]
    assert len({m.prompt for m in members}) >= 3
    assert len({m.persona for m in members}) == len(members)
    assert len({m.model for m in members}) >= 3
    assert len({m.batch_size for m in members}) >= 2
    assert configs["farm_pool_train"].p_label_flip == 0.25


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provider": "anthropic", "parser": "logprob", "prompt": "logprob"}, "no logprobs"),
        ({"provider": "openai_compatible"}, "needs base_url"),
        ({"parser": "batch"}, "batch_size > 1"),
        ({"prompt": None}, "exactly one of prompt"),
        ({"temperature": 5}, "temperature"),
        ({"api_key": "sk-123"}, "api_key"),
        ({"name": "has space"}, "name"),
    ],
)
def test_invalid_configs_are_refused_with_the_reason(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, **change})


def test_the_version_changes_with_any_setting():
    a = parse_config(BASE)
    assert config_sha256(a) == config_sha256(parse_config(dict(BASE)))
    assert config_sha256(a) != config_sha256(parse_config({**BASE, "temperature": 0.5}))
    assert config_sha256(a) != config_sha256(parse_config({**BASE, "prompt": "logprob"}))


def test_order_and_pool_choices_do_not_depend_on_the_process():
    """Seeded choices use SHA-256, not Python's salted hash(): another interpreter with another
    hash seed makes the same choices."""
    members = ["m1", "m2", "m3", "m4", "m5"]
    here = [
        (shown_swapped(7, f"k{i}", "judge", randomize=True), pool_member(7, "p", f"k{i}", members))
        for i in range(50)
    ]
    code = (
        "from app.annotators.seeding import pool_member, shown_swapped\n"
        "m=['m1','m2','m3','m4','m5']\n"
        "print([(shown_swapped(7, f'k{i}', 'judge', randomize=True),"
        " pool_member(7, 'p', f'k{i}', m)) for i in range(50)])"
    )
    there = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert there == str(here)
    assert 15 < sum(swapped for swapped, _ in here) < 35
    assert len({member for _, member in here}) == 5
