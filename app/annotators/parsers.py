"""Turning a judge's answer into preferences in the frame it was shown (1 = A, 2 = B).

Preferences follow the AlpacaFarm convention: a float in [1, 2], 1 when the response shown first
(A) is better, 2 when the second (B) is. Mapping back to the comparison's own frame happens in
`app.annotators.order`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

LETTER_PREFERENCE = {"A": 1.0, "B": 2.0}
PREFERENCE_TOOL = {
    "name": "record_verdict",
    "description": "Record which of the two responses is better, with a short reason.",
    "parameters": {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "description": "One or two sentences."},
            "preferred": {"type": "string", "enum": ["A", "B"]},
        },
        "required": ["reason", "preferred"],
        "additionalProperties": False,
    },
}


class ParseError(ValueError):
    """The answer does not contain a usable verdict; the raw text is kept."""


class BatchCountMismatch(ParseError):
    """A batched answer does not give exactly one verdict per comparison: the batch is retried."""


@dataclass(frozen=True)
class Verdict:
    preference: float  # in the shown frame
    rationale: str | None = None


def parse_label(text: str, pattern: str) -> Verdict:
    match = re.search(pattern, text)
    letter = match.group(1).upper() if match else None
    if letter not in LETTER_PREFERENCE:
        raise ParseError(f"no A/B verdict found by the label pattern in {text[:80]!r}")
    return Verdict(LETTER_PREFERENCE[letter])


def _verdict_from_object(data: Any) -> Verdict:
    if not isinstance(data, dict):
        raise ParseError("the verdict is not a JSON object")
    preferred = str(data.get("preferred", "")).strip().upper().removeprefix("RESPONSE").strip()
    if preferred not in LETTER_PREFERENCE:
        raise ParseError(f"'preferred' must be A or B, got {data.get('preferred')!r}")
    reason = data.get("reason")
    return Verdict(LETTER_PREFERENCE[preferred], str(reason) if reason is not None else None)


def parse_json(text: str) -> Verdict:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ParseError(f"no JSON object in {text[:80]!r}")
    try:
        data = orjson.loads(text[start : end + 1])
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc
    return _verdict_from_object(data)


def parse_tool_arguments(arguments: dict[str, Any] | None) -> Verdict:
    if arguments is None:
        raise ParseError("the model did not call the verdict tool")
    return _verdict_from_object(arguments)


def parse_logprobs(top_logprobs: dict[str, float] | None) -> Verdict:
    """p = 2 - P(A) / (P(A) + P(B)) over the first token's alternatives."""
    if not top_logprobs:
        raise ParseError("the answer carries no logprobs")
    mass = {"A": 0.0, "B": 0.0}
    for token, logprob in top_logprobs.items():
        letter = token.strip()
        if letter in mass:
            mass[letter] += math.exp(logprob)
    total = mass["A"] + mass["B"]
    if total <= 0:
        raise ParseError(
            f"neither A nor B among the first token's alternatives {list(top_logprobs)}"
        )
    return Verdict(min(2.0, max(1.0, 2.0 - mass["A"] / total)))


_BATCH_LINE = re.compile(r"^\W*(\d+)\s*[:.)\-]\s*\W*(?:response\s+)?([AB])\b", re.I | re.M)


def parse_batch(text: str, count: int) -> list[Verdict]:
    """Exactly one verdict per comparison, numbered 1..count; anything else is a mismatch."""
    found: dict[int, str] = {}
    for number, letter in _BATCH_LINE.findall(text):
        index = int(number)
        if index in found:
            raise BatchCountMismatch(f"comparison {index} is answered twice")
        found[index] = letter.upper()
    if sorted(found) != list(range(1, count + 1)):
        raise BatchCountMismatch(
            f"expected verdicts numbered 1..{count}, got {sorted(found) or 'none'}"
        )
    return [Verdict(LETTER_PREFERENCE[found[i]]) for i in range(1, count + 1)]
