"""Prompts and candidates as chat messages (OpenAI's shape: `role`, string `content`).

A comparison's prompt is an instruction (with an optional input) or a conversation, a list of
`system` / `user` / `assistant` messages whose last turn is the user's. A candidate is the next
assistant turn: one text, or several assistant messages. Each reader (exports, rater pages,
simulated annotators) gets the same view from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

Message = dict[str, str]
ROLES = ("system", "user", "assistant")
CANDIDATE_ROLES = ("assistant",)
# Between the messages of a multi-message candidate in its joined text.
CANDIDATE_JOINER = "\n\n"


def canonical_json(messages: Sequence[Message]) -> str:
    """The one text of a message list, so the same conversation has the same content hash."""
    return orjson.dumps(
        [{"role": m["role"], "content": m["content"]} for m in messages],
        option=orjson.OPT_SORT_KEYS,
    ).decode()


def instruction_prompt(instruction: str, input_text: str) -> str:
    """An instruction and its input as one user turn."""
    return f"{instruction}\n\n{input_text}" if input_text else instruction


def prompt_messages(instruction: str, input_text: str, messages: Any) -> list[Message]:
    """The prompt as a message list: the stored conversation, or the instruction as one user
    turn."""
    if messages:
        return [dict(m) for m in messages]
    return [{"role": "user", "content": instruction_prompt(instruction, input_text)}]


def candidate_messages(text: str, messages: Any) -> list[Message]:
    """A candidate as a message list: its stored messages, or its text as one assistant turn."""
    if messages:
        return [dict(m) for m in messages]
    return [{"role": "assistant", "content": text}]


def candidate_text(messages: Sequence[Message]) -> str:
    """What a multi-message candidate says, as one text (length features read this)."""
    return CANDIDATE_JOINER.join(m["content"] for m in messages)


def user_turns(messages: Any) -> int:
    """How many user turns a prompt has (1 for an instruction)."""
    return sum(1 for m in messages if m["role"] == "user") if messages else 1
