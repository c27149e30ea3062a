"""Checking a config before using it (its prompt and its price), and which configs an operator
lets researchers register."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from app.annotators.pricing import CHARS_PER_TOKEN
from app.config import Settings
from app.server import create_app

JUDGE = {
    "name": "priced_judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
    "max_tokens": 8,
    "price_per_mtok_input": 2.0,
    "price_per_mtok_output": 10.0,
}
PAIR = {
    "instruction": "Name the largest planet.",
    "output_1": "Jupiter is the largest planet.",
    "output_2": "Saturn.",
}


def validate(client: TestClient, account, body: dict) -> dict:
    response = client.post("/api/v1/annotators/validate", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_validate_shows_the_prompt_the_judge_would_get(client, researcher) -> None:
    checked = validate(client, researcher, {"config": JUDGE, "comparisons": [PAIR]})
    assert checked["kind"] == "annotator"
    prompt = checked["prompt"]["system"] + checked["prompt"]["user"]
    for text in (PAIR["instruction"], PAIR["output_1"], PAIR["output_2"]):
        assert text in prompt


def test_validate_prices_a_thousand_comparisons(client, researcher) -> None:
    checked = validate(client, researcher, {"config": JUDGE, "comparisons": [PAIR]})
    rendered = checked["prompt"]["system"] + checked["prompt"]["user"]
    # one call per comparison; the documented approximation, per message
    assert checked["calls_per_comparison"] == 1
    approx = math.ceil(len(checked["prompt"]["system"]) / CHARS_PER_TOKEN) + math.ceil(
        len(checked["prompt"]["user"]) / CHARS_PER_TOKEN
    )
    assert checked["prompt_tokens_per_comparison"] == approx
    assert approx >= len(rendered) / CHARS_PER_TOKEN
    expected = 1000 * (approx * 2.0 + 8 * 10.0) / 1_000_000
    assert checked["usd_per_1000_comparisons"] == pytest.approx(expected, rel=1e-6)
    assert checked["prompt_tokens_per_1000"] == 1000 * approx


def test_asking_in_both_orders_costs_two_calls(client, researcher) -> None:
    once = validate(client, researcher, {"config": JUDGE, "comparisons": [PAIR]})
    twice = validate(
        client, researcher, {"config": {**JUDGE, "both_orders": True}, "comparisons": [PAIR]}
    )
    assert twice["calls_per_comparison"] == 2
    assert twice["usd_per_1000_comparisons"] == pytest.approx(2 * once["usd_per_1000_comparisons"])


def test_a_registered_pool_is_priced_from_its_members(client, researcher) -> None:
    checked = validate(client, researcher, {"name": "farm_pool", "comparisons": [PAIR]})
    assert checked["kind"] == "pool"
    members = checked["members"]
    assert len(members) >= 2
    mean = sum(m["usd_per_1000_comparisons"] for m in members) / len(members)
    assert 0 < checked["usd_per_1000_comparisons"] <= mean


def test_builtin_baselines_cost_nothing_and_send_no_prompt(client, researcher) -> None:
    checked = validate(client, researcher, {"name": "longest"})
    assert checked["prompt"] is None
    assert checked["usd_per_1000_comparisons"] == 0


def test_an_invalid_config_is_explained_and_nothing_is_registered(client, researcher) -> None:
    bad = {**JUDGE, "prompt_template": "{{ nothing_here.x }}\n=== user ===\nhi", "prompt": None}
    response = client.post(
        "/api/v1/annotators/validate", json={"config": bad}, headers=researcher.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_config"
    names = [
        a["name"]
        for a in client.get("/api/v1/annotators", headers=researcher.headers).json()["items"]
    ]
    assert "priced_judge" not in names


def test_validating_an_unknown_name_is_not_found(client, researcher) -> None:
    response = client.post(
        "/api/v1/annotators/validate", json={"name": "nobody"}, headers=researcher.headers
    )
    assert response.status_code == 404
    assert "nobody" in response.json()["error"]["message"]


def test_validating_a_config_and_a_name_at_once_is_refused(client, researcher) -> None:
    response = client.post(
        "/api/v1/annotators/validate",
        json={"config": JUDGE, "name": "longest"},
        headers=researcher.headers,
    )
    assert response.status_code == 422


@pytest.fixture
def granting_client(database_url: str, engine):
    settings = Settings(
        database_url=database_url,
        inprocess_worker=False,
        researcher_base_urls="http://vllm.lab.internal:8000/",
        researcher_api_key_envs="LAB_VLLM_KEY",
    )
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


def test_an_operator_grants_researchers_an_address_and_a_key_variable(
    granting_client, researcher
) -> None:
    local = {
        **JUDGE,
        "name": "lab_judge",
        "provider": "openai_compatible",
        "base_url": "http://vllm.lab.internal:8000/v1",
        "api_key_env": "LAB_VLLM_KEY",
    }
    granted = granting_client.post("/api/v1/annotators", json=local, headers=researcher.headers)
    assert granted.status_code == 201, granted.text
    elsewhere = {**local, "name": "other", "base_url": "http://collector.example/v1"}
    refused = granting_client.post("/api/v1/annotators", json=elsewhere, headers=researcher.headers)
    assert refused.status_code == 403
    other_key = {**local, "name": "other2", "api_key_env": "OPENAI_API_KEY"}
    refused = granting_client.post("/api/v1/annotators", json=other_key, headers=researcher.headers)
    assert refused.status_code == 403


def test_admins_may_register_any_address(client, admin) -> None:
    config = {**JUDGE, "name": "remote", "base_url": "http://collector.example/v1"}
    response = client.post("/api/v1/annotators", json=config, headers=admin.headers)
    assert response.status_code == 201
