"""Parsers turn answers into preferences in the frame shown (1 = A better, 2 = B better)."""

from __future__ import annotations

import math

import pytest

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import (
    BatchCountMismatch,
    ParseError,
    parse_batch,
    parse_json,
    parse_label,
    parse_logprobs,
    parse_tool_arguments,
)

DEFAULT_LABEL_PATTERN = AnnotatorConfig.model_fields["label_pattern"].default


@pytest.mark.parametrize(
    ("answer", "preference"),
    [("A", 1.0), ("B", 2.0), (" b", None), ("Response B", 2.0), ("(A) is clearly better.", 1.0)],
)
def test_label_answers(answer, preference):
    if preference is None:
        with pytest.raises(ParseError):
            parse_label(answer, DEFAULT_LABEL_PATTERN)
    else:
        assert parse_label(answer, DEFAULT_LABEL_PATTERN).preference == preference


def test_a_label_answer_without_a_verdict_is_a_parse_error():
    with pytest.raises(ParseError, match="no A/B verdict"):
        parse_label("Both are fine.", DEFAULT_LABEL_PATTERN)


def test_json_answers_may_come_fenced_and_keep_their_reason():
    verdict = parse_json('```json\n{"reason": "B is correct.", "preferred": "B"}\n```')
    assert verdict.preference == 2.0 and verdict.rationale == "B is correct."


def test_json_without_a_valid_choice_is_a_parse_error():
    with pytest.raises(ParseError, match="'preferred' must be A or B"):
        parse_json('{"reason": "hmm", "preferred": "both"}')
    with pytest.raises(ParseError, match="no JSON object"):
        parse_json("I prefer A")


def test_tool_arguments():
    assert parse_tool_arguments({"reason": "r", "preferred": "A"}).preference == 1.0
    with pytest.raises(ParseError, match="did not call"):
        parse_tool_arguments(None)


def test_logprob_preference_follows_the_formula():
    # p = 2 - P(A) / (P(A) + P(B)); other tokens do not count.
    top = {"A": math.log(0.6), " B": math.log(0.2), "The": math.log(0.2)}
    assert parse_logprobs(top).preference == pytest.approx(2 - 0.6 / 0.8)


def test_logprobs_without_either_letter_are_a_parse_error():
    with pytest.raises(ParseError, match="neither A nor B"):
        parse_logprobs({"The": -0.1, "I": -2.0})


def test_a_batch_answer_is_read_by_number_not_by_position():
    verdicts = parse_batch("3: A\n1: B\n2) A\n5. B\n4 - A", 5)
    assert [v.preference for v in verdicts] == [2.0, 1.0, 1.0, 1.0, 2.0]


@pytest.mark.parametrize("answer", ["1: A\n2: B", "1: A\n2: B\n3: A\n3: B", "1: A\n2: B\n4: A"])
def test_a_batch_answer_with_missing_or_repeated_numbers_is_a_mismatch(answer):
    with pytest.raises(BatchCountMismatch):
        parse_batch(answer, 3)
