"""Preference scales: how a job asks raters for a verdict, and what each answer is stored as
(docs/rating.md#graded-preferences).

A graded judgment is stored as a label (the side, in the comparison's own frame: `output_1`,
`output_2`, or `tie` / `both_bad`) plus a **strength**, the level chosen on the scale (1 = the
weakest level of a side). Its soft preference is 1.5 -/+ half the level's margin: `output_1`
below 1.5, `output_2` above. Its **ordinal position** puts every answer on one axis, from
"output_1 much better" (most negative) through the middle (0) to "output_2 much better", which
is what the ordinal agreement coefficients compare.

One owner: every other module asks this one how a choice maps to (label, strength, preference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, case, null

LABELS = ("output_1", "output_2", "tie", "both_bad")
# The preference each label stands for (both_bad is a tie that keeps its label).
LABEL_PREFERENCE = {"output_1": 1.0, "output_2": 2.0, "tie": 1.5, "both_bad": 1.5}

ScaleName = Literal["binary", "llama2_4", "likert_7"]
SCALE_NAMES: tuple[str, ...] = get_args(ScaleName)
DEFAULT_SCALE: ScaleName = "binary"
SIDES = ("A", "B")


@dataclass(frozen=True)
class Level:
    name: str
    margin: float  # in [0, 1]: how far from a tie the level moves the preference


@dataclass(frozen=True)
class Option:
    """One answer a rater can give on a scale, as shown (sides A and B, not outputs 1 and 2)."""

    value: str  # the form value: "A", "B", "tie", "both_bad", or a side and a level ("A3")
    text: str
    key: str  # the keyboard shortcut


@dataclass(frozen=True)
class Verdict:
    """A choice made on screen, before it is put in the comparison's frame."""

    side: str | None  # "A" or "B"; None for tie / both_bad
    strength: int | None  # the level (1 = weakest); 0 for a graded scale's middle; None: none
    label: str | None  # "tie" or "both_bad" when side is None


@dataclass(frozen=True)
class Scale:
    name: str
    title: str
    levels: tuple[Level, ...]  # of one side, weakest first; empty: the side only (binary)
    middle: str | None  # the text of a middle answer (a tie with strength 0), if the scale has one

    @property
    def graded(self) -> bool:
        return bool(self.levels)

    def options(self) -> list[Option]:
        """The answers in screen order, left to right, with keys 1, 2, … and `0` for both bad."""
        if not self.graded:
            plain = [("A", "A is better"), ("B", "B is better"), ("tie", "Tie")]
            plain.append(("both_bad", "Both are bad"))
            return [Option(value, text, str(n)) for n, (value, text) in enumerate(plain, 1)]
        strengths = range(1, len(self.levels) + 1)
        ordered = [(f"A{s}", f"A: {self.levels[s - 1].name}") for s in reversed(strengths)]
        if self.middle is not None:
            ordered.append(("tie", self.middle))
        ordered += [(f"B{s}", f"B: {self.levels[s - 1].name}") for s in strengths]
        options = [Option(value, text, str(n)) for n, (value, text) in enumerate(ordered, 1)]
        return [*options, Option("both_bad", "Both are bad", "0")]

    def parse(self, choice: str) -> Verdict | None:
        """The verdict of a form value, or None when the value is not an answer on this scale."""
        if choice == "both_bad":
            return Verdict(None, None, "both_bad")
        if not self.graded:
            if choice in SIDES:
                return Verdict(choice, None, None)
            return Verdict(None, None, "tie") if choice == "tie" else None
        if choice == "tie":
            return Verdict(None, 0, "tie") if self.middle is not None else None
        side, level = choice[:1], choice[1:]
        if side in SIDES and level.isdigit() and 1 <= int(level) <= len(self.levels):
            return Verdict(side, int(level), None)
        return None

    def preference(self, label: str, strength: int | None) -> float:
        """The soft preference of a stored (label, strength): a label's own value without a
        strength, else 1.5 -/+ half the level's margin."""
        if not (self.graded and strength) or label not in ("output_1", "output_2"):
            return LABEL_PREFERENCE[label]
        margin = self.levels[strength - 1].margin
        return 1.5 - margin / 2 if label == "output_1" else 1.5 + margin / 2

    def choice_of(self, label: str, strength: int | None, shown_swapped: bool) -> str:
        """The form value that stands for a stored (label, strength), as this rater saw it."""
        if label not in ("output_1", "output_2"):
            return label
        side = "A" if (label == "output_1") != shown_swapped else "B"
        return f"{side}{strength}" if self.graded and strength else side

    def ordinal_positions(self) -> tuple[int, ...]:
        """Every ordinal position of this scale, in order (the middle, 0, is always one)."""
        top = len(self.levels) if self.graded else 1
        return tuple(range(-top, top + 1))

    def describe(self, label: str | None, strength: int | None) -> str:
        """A stored judgment in words, in the comparison's frame."""
        if label == "both_bad":
            return "both are bad"
        if label == "tie" or label is None:
            return (self.middle or "tie").lower() if self.graded else "tie"
        output = "output 1" if label == "output_1" else "output 2"
        if self.graded and strength:
            return f"{output}: {self.levels[strength - 1].name}"
        return f"{output} better"


# Llama 2's four levels (Touvron et al. 2023, section 3.2.1), with the margins of its "small"
# margin variant: a side is always chosen, "about the same" (negligibly better / unsure) counts
# as a tie in the soft preference but keeps its side in the label.
LLAMA2_4 = Scale(
    name="llama2_4",
    title="Side and 4 levels (Llama 2): much better / better / slightly better / about the same",
    levels=(
        Level("about the same", 0.0),
        Level("slightly better", 1 / 3),
        Level("better", 2 / 3),
        Level("much better", 1.0),
    ),
    middle=None,
)
LIKERT_7 = Scale(
    name="likert_7",
    title="Symmetric 7 points: A much better … about the same … B much better",
    levels=(Level("slightly better", 1 / 3), Level("better", 2 / 3), Level("much better", 1.0)),
    middle="About the same",
)
BINARY = Scale(name="binary", title="A better / B better / tie / both bad", levels=(), middle=None)

SCALES: dict[str, Scale] = {scale.name: scale for scale in (BINARY, LLAMA2_4, LIKERT_7)}
assert tuple(SCALES) == SCALE_NAMES, "every scale name has a scale"


def scale_named(name: str) -> Scale:
    return SCALES.get(name, BINARY)


def ordinal_position(label: ColumnElement[Any], strength: ColumnElement[Any]) -> ColumnElement[Any]:
    """Where a judgment sits on the ordinal axis, in SQL: -strength for output_1, +strength for
    output_2, 0 for a tie or both bad; NULL for a side without a strength (not a graded answer)."""
    return case(
        (label.in_(("tie", "both_bad")), 0),
        (label == "output_1", -strength),
        (label == "output_2", strength),
        else_=null(),
    )
