"""Reading a job's judgments into numpy arrays with SQLAlchemy Core, in the database's streaming
order (server-side cursors on PostgreSQL), never as ORM objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Connection, FromClause, Select, and_, case, func, select
from sqlalchemy.orm import aliased

from app.db.dialect import line_regex_match, stream_batches
from app.db.models import Annotation, Annotator, Comparison, Output, table
from app.db.scales import ordinal_position

GoldFilter = Literal["include", "exclude", "only"]
BATCH_ROWS = 20_000

annotations_t = table(Annotation)
annotators_t = table(Annotator)
comparisons_t = table(Comparison)
outputs_t = table(Output)


def comma_separated(text: str | None) -> tuple[str, ...]:
    """`a, b,,c` as ("a", "b", "c"): how lists of names are given in URLs and on the CLI."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class Selection:
    """Which judgments count: by annotator name or kind, creation time, gold comparisons."""

    annotators: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    gold: GoldFilter = "include"
    # Left out whatever else says: e.g. simulated annotators below the job's agreement floor.
    excluded_annotators: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "annotators": list(self.annotators) or None,
            "excluded_annotators": list(self.excluded_annotators) or None,
            "kinds": list(self.kinds) or None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "gold": self.gold,
        }


def gold_condition(gold: GoldFilter) -> ColumnElement[bool] | None:
    if gold == "exclude":
        return comparisons_t.c.gold_preference.is_(None)
    if gold == "only":
        return comparisons_t.c.gold_preference.is_not(None)
    return None


def annotation_conditions(job_id: int, selection: Selection) -> list[ColumnElement[bool]]:
    """WHERE terms over annotations, annotators and comparisons (join all three)."""
    a = annotations_t.c
    terms: list[ColumnElement[bool]] = [a.job_id == job_id]
    if selection.annotators:
        terms.append(annotators_t.c.name.in_(selection.annotators))
    if selection.kinds:
        terms.append(annotators_t.c.kind.in_(selection.kinds))
    if selection.excluded_annotators:
        terms.append(annotators_t.c.name.not_in(selection.excluded_annotators))
    if selection.since is not None:
        terms.append(a.created_at >= selection.since)
    if selection.until is not None:
        terms.append(a.created_at < selection.until)
    gold = gold_condition(selection.gold)
    if gold is not None:
        terms.append(gold)
    return terms


def joined_annotations(
    columns: Sequence[Any],
    job_id: int,
    selection: Selection,
    *,
    with_annotators: bool = False,
    with_comparisons: bool = False,
) -> Select[Any]:
    """SELECT columns FROM annotations, joined to annotators and comparisons where the columns
    or the selection need them."""
    source: FromClause = annotations_t
    if with_annotators or selection.annotators or selection.kinds or selection.excluded_annotators:
        source = source.join(annotators_t, annotators_t.c.id == annotations_t.c.annotator_id)
    if with_comparisons or gold_condition(selection.gold) is not None:
        source = source.join(comparisons_t, comparisons_t.c.id == annotations_t.c.comparison_id)
    return (
        select(*columns).select_from(source).where(and_(*annotation_conditions(job_id, selection)))
    )


# AlpacaEval's list detector (alpaca_eval.utils.contains_list): a line starting, after spaces, with
# a bullet (*, •, -), a number with . or ), or a letter with . or ) and a space, then a word.
LIST_ITEM = r"^\s*(?:[*•-]\s*|[0-9]+[.)]\s*|[a-zA-Z][.)]\s+)[^\w]*\w+"


def has_list(text_column: ColumnElement[str]) -> ColumnElement[int]:
    """1 where a text holds a list item by AlpacaEval's definition (LIST_ITEM)."""
    return case((line_regex_match(text_column, LIST_ITEM), 1), else_=0)


def _number(text: str | None) -> float:
    """A posted metadata value as a finite float, else NaN."""
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


@dataclass
class ComparisonArrays:
    ids: NDArray[np.int64]
    generator_1: NDArray[np.int64]
    generator_2: NDArray[np.int64]
    length_1: NDArray[np.float64]
    length_2: NDArray[np.float64]
    has_list_1: NDArray[np.bool_]
    has_list_2: NDArray[np.bool_]
    instruction: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # metadata.instruction_difficulty as posted (an imported difficulty table), else NaN.
    difficulty: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    generators: list[str] = field(default_factory=list)


def load_comparisons(connection: Connection, job_id: int, gold: GoldFilter) -> ComparisonArrays:
    c = comparisons_t.c
    o1, o2 = aliased(outputs_t), aliased(outputs_t)
    query = (
        select(
            c.id,
            o1.c.generator,
            o2.c.generator,
            func.length(o1.c.text),
            func.length(o2.c.text),
            has_list(o1.c.text),
            has_list(o2.c.text),
            c.instruction_id,
            comparisons_t.c["metadata"]["instruction_difficulty"].as_string(),
        )
        .select_from(
            comparisons_t.join(o1, o1.c.id == c.output_1_id).join(o2, o2.c.id == c.output_2_id)
        )
        .where(c.job_id == job_id)
        .order_by(c.id)
    )
    gold_term = gold_condition(gold)
    if gold_term is not None:
        query = query.where(gold_term)
    codes: dict[str, int] = {}
    instructions: dict[Any, int] = {}
    columns: list[list[Any]] = [[] for _ in range(9)]
    for batch in stream_batches(connection, query, BATCH_ROWS):
        for row in batch:
            columns[0].append(row[0])
            columns[1].append(codes.setdefault(row[1], len(codes)))
            columns[2].append(codes.setdefault(row[2], len(codes)))
            for k in range(3, 7):
                columns[k].append(row[k])
            columns[7].append(instructions.setdefault(row[7], len(instructions)))
            columns[8].append(_number(row[8]))
    return ComparisonArrays(
        ids=np.array(columns[0], dtype=np.int64),
        generator_1=np.array(columns[1], dtype=np.int64),
        generator_2=np.array(columns[2], dtype=np.int64),
        length_1=np.array(columns[3], dtype=float),
        length_2=np.array(columns[4], dtype=float),
        has_list_1=np.array(columns[5], dtype=bool),
        has_list_2=np.array(columns[6], dtype=bool),
        instruction=np.array(columns[7], dtype=np.int64),
        difficulty=np.array(columns[8], dtype=float),
        generators=list(codes),
    )


@dataclass
class JudgmentArrays:
    comparison_id: NDArray[np.int64]
    annotator_id: NDArray[np.int64]
    repeat: NDArray[np.int64]
    preference: NDArray[np.float64]
    shown_swapped: NDArray[np.float64]
    cost_usd: NDArray[np.float64]
    seconds: NDArray[np.float64]
    # A graded judgment's place on the ordinal axis (app/db/scales.py); NaN when it has none.
    ordinal: NDArray[np.float64]


def load_judgments(connection: Connection, job_id: int, selection: Selection) -> JudgmentArrays:
    a = annotations_t.c
    seconds = func.coalesce(a.seconds_on_task, a.latency_ms / 1000.0)
    query = joined_annotations(
        [
            a.comparison_id,
            a.annotator_id,
            a.repeat,
            a.preference,
            a.shown_swapped,
            a.cost_usd,
            seconds,
            ordinal_position(a.label, a.strength),
        ],
        job_id,
        selection,
    )
    parts: list[list[NDArray[Any]]] = [[] for _ in range(8)]
    dtypes = [np.int64, np.int64, np.int64, float, float, float, float, float]
    for batch in stream_batches(connection, query, BATCH_ROWS):
        for k, column in enumerate(zip(*batch, strict=True)):
            parts[k].append(np.array(column, dtype=dtypes[k]))
    arrays = [
        np.concatenate(p) if p else np.empty(0, dtype=d) for p, d in zip(parts, dtypes, strict=True)
    ]
    return JudgmentArrays(*arrays)


def load_annotators(connection: Connection, ids: NDArray[np.int64]) -> dict[int, tuple[str, str]]:
    wanted = [int(i) for i in np.unique(ids)]
    if not wanted:
        return {}
    rows = connection.execute(
        select(annotators_t.c.id, annotators_t.c.name, annotators_t.c.kind).where(
            annotators_t.c.id.in_(wanted)
        )
    )
    return {row.id: (row.name, row.kind) for row in rows}
