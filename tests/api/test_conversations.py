"""Comparisons whose prompt is a conversation (issue 15): validated with per-row errors,
content-addressed (one conversation stored once), idempotent, read back as posted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.db.models import Instruction, Output

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a prime."},
    {"role": "assistant", "content": "7."},
    {"role": "user", "content": "Another one?"},
]


def chat_row(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": f"chat{n}",
        "messages": CHAT,
        "output_1": "11.",
        "output_2": f"Sure, {n} is not, but 13 is.",
        "generator_1": "model-a",
        "generator_2": "model-b",
        **overrides,
    }


def test_a_conversation_reads_back_as_posted(client: TestClient, researcher, url) -> None:
    posted = client.post(url, json=[chat_row(1)], headers=researcher.headers)
    assert posted.json()["created"] == 1
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    assert item["messages"] == CHAT
    assert item["instruction"] == "Another one?"  # the last user turn
    assert (item["output_1"], item["output_1_messages"]) == ("11.", None)


def test_the_same_conversation_is_stored_once(
    client: TestClient, researcher, url, make_job, db
) -> None:
    other = make_job(researcher)
    client.post(url, json=[chat_row(1), chat_row(2)], headers=researcher.headers)
    client.post(
        f"/api/v1/jobs/{other['id']}/comparisons", json=[chat_row(3)], headers=researcher.headers
    )
    stored = db.scalars(select(Instruction.messages)).all()
    assert stored == [CHAT]


def test_reposting_a_conversation_is_a_no_op(client: TestClient, researcher, url) -> None:
    client.post(url, json=[chat_row(1)], headers=researcher.headers)
    again = client.post(url, json=[chat_row(1)], headers=researcher.headers)
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)


def test_a_conversation_is_not_the_instruction_of_its_last_turn(
    client: TestClient, researcher, url, db
) -> None:
    plain = {"id": "plain", "instruction": "Another one?", "output_1": "11.", "output_2": "x"}
    client.post(url, json=[chat_row(1), plain], headers=researcher.headers)
    assert len(db.scalars(select(Instruction.id)).all()) == 2


def test_a_candidate_may_be_several_assistant_messages(
    client: TestClient, researcher, url, db
) -> None:
    steps = [
        {"role": "assistant", "content": "[tool call] primes(after=7)"},
        {"role": "assistant", "content": "11 is the next prime."},
    ]
    client.post(url, json=[chat_row(1, output_2=steps)], headers=researcher.headers)
    [item] = client.get(url, headers=researcher.headers).json()["items"]
    assert item["output_2_messages"] == steps
    assert item["output_2"] == "[tool call] primes(after=7)\n\n11 is the next prime."
    assert db.scalars(select(Output.messages).where(Output.messages.is_not(None))).all() == [steps]


BAD_ROWS = [
    ({"messages": CHAT[:3]}, "messages", "the last message is the user's"),
    ({"messages": [*CHAT, CHAT[0]]}, "messages", "the last message is the user's"),
    ({"messages": [CHAT[1], CHAT[0], CHAT[1]]}, "messages", "a system message may only come"),
    ({"messages": []}, "messages", "at least one message"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role", "Input should be"),
    ({"messages": [{"role": "user", "content": 7}]}, "messages.0.content", "valid string"),
    ({"messages": [{"role": "user"}]}, "messages.0.content", "Field required"),
    ({"instruction": "Both?"}, "instruction", "not both"),
    ({"input": "extra"}, "input", "no `input`"),
    ({"output_1": [{"role": "user", "content": "x"}]}, "output_1", "assistant"),
    ({"output_1": []}, "output_1", "at least one message"),
]


@pytest.mark.parametrize(("override", "field", "reason"), BAD_ROWS)
def test_a_bad_conversation_row_is_a_422_naming_it(
    client: TestClient, researcher, url, stored_counts, override, field, reason
) -> None:
    response = client.post(
        url, json=[chat_row(1), chat_row(2, **override)], headers=researcher.headers
    )
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert {e["row"] for e in errors} == {2}
    assert any(e["field"].startswith(field) and reason in e["reason"] for e in errors), errors
    assert set(stored_counts().values()) == {0}


def test_a_row_without_instruction_or_messages_names_the_instruction(
    client: TestClient, researcher, url
) -> None:
    row = chat_row(1)
    del row["messages"]
    response = client.post(url, json=[row], headers=researcher.headers)
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "instruction" and "Field required" in error["reason"]


@pytest.fixture
def small_limits(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        inprocess_worker=False,
        max_conversation_messages=3,
        max_conversation_chars=40,
    )


@pytest.mark.parametrize(
    ("override", "field", "setting"),
    [
        ({"messages": CHAT}, "messages", "PREFARM_MAX_CONVERSATION_MESSAGES"),
        ({"messages": [{"role": "user", "content": "x" * 41}]}, "messages", "CHARS"),
        ({"output_1": [{"role": "assistant", "content": "a"}] * 4}, "output_1", "MESSAGES"),
    ],
)
def test_conversations_over_the_configured_limits_are_refused(
    small_limits, engine, researcher, override, field, setting
) -> None:
    from app.server import create_app

    with TestClient(create_app(small_limits, engine)) as limited:
        job = limited.post("/api/v1/jobs", json={"name": "j"}, headers=researcher.headers).json()
        row = chat_row(1, **{"messages": [{"role": "user", "content": "hi"}], **override})
        response = limited.post(
            f"/api/v1/jobs/{job['id']}/comparisons", json=[row], headers=researcher.headers
        )
    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == field and setting in error["reason"]
