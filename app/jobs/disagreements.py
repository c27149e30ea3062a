"""The disagreements browser: comparisons whose judgments point different ways, page by page.

A page looks at a bounded window of the job's comparisons (in id order, from the
(job_id, id) index) and keeps those whose parsed judgments do not all fall in the same
category (output_1 / tie / output_2). Each request therefore touches at most `WINDOW`
comparisons and their judgments, whether the job has a hundred comparisons or a million.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Row, case, func, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Annotation, Annotator, Comparison, Instruction, Output
from app.jobs.listing import TaskError, task_errors

PAGE_SIZE = 50
WINDOW = 2000
SNIPPET_CHARS = 160


@dataclass
class DisagreementRow:
    comparison_id: int
    external_id: str
    instruction: str
    generator_1: str
    generator_2: str
    judgments: int
    for_output_1: int
    ties: int
    for_output_2: int


@dataclass
class DisagreementPage:
    rows: list[DisagreementRow]
    next_after: int | None  # the `after` of the next page, None at the end of the job


def _category() -> ColumnElement[int]:
    return case(
        (Annotation.preference < 1.5, 1),
        (Annotation.preference > 1.5, 3),
        else_=2,
    )


def disagreements(session: Session, job_id: int, after: int) -> DisagreementPage:
    window = (
        select(Comparison.id)
        .where(Comparison.job_id == job_id, Comparison.id > after)
        .order_by(Comparison.id)
        .limit(WINDOW)
        .subquery()
    )
    window_end, window_size = session.execute(select(func.max(window.c.id), func.count())).one()
    if not window_size:
        return DisagreementPage([], None)
    category = _category()
    # A range on comparison_id: read off the (comparison_id, annotator_id, repeat) unique index.
    found = session.execute(
        select(
            Annotation.comparison_id,
            func.count(),
            func.sum(case((category == 1, 1), else_=0)),
            func.sum(case((category == 2, 1), else_=0)),
            func.sum(case((category == 3, 1), else_=0)),
        )
        .where(
            Annotation.comparison_id > after,
            Annotation.comparison_id <= window_end,
            Annotation.job_id == job_id,
            Annotation.preference.is_not(None),
        )
        .group_by(Annotation.comparison_id)
        .having(func.min(category) != func.max(category))
        .order_by(Annotation.comparison_id)
        .limit(PAGE_SIZE + 1)
    ).all()
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        next_after: int | None = found[-1][0]
    elif window_size == WINDOW:
        next_after = window_end
    else:
        next_after = None
    return DisagreementPage(_describe(session, found), next_after)


def _describe(
    session: Session, found: Sequence[Row[int, int, int, int, int]]
) -> list[DisagreementRow]:
    if not found:
        return []
    out_1, out_2 = aliased(Output), aliased(Output)
    details = {
        row.id: row
        for row in session.execute(
            select(
                Comparison.id,
                Comparison.external_id,
                func.substr(Instruction.instruction, 1, SNIPPET_CHARS).label("snippet"),
                out_1.generator.label("generator_1"),
                out_2.generator.label("generator_2"),
            )
            .join(Instruction, Instruction.id == Comparison.instruction_id)
            .join(out_1, out_1.id == Comparison.output_1_id)
            .join(out_2, out_2.id == Comparison.output_2_id)
            .where(Comparison.id.in_([row[0] for row in found]))
        ).all()
    }
    return [
        DisagreementRow(
            comparison_id=comparison_id,
            external_id=details[comparison_id].external_id,
            instruction=details[comparison_id].snippet,
            generator_1=details[comparison_id].generator_1,
            generator_2=details[comparison_id].generator_2,
            judgments=count,
            for_output_1=int(ones),
            ties=int(ties),
            for_output_2=int(twos),
        )
        for comparison_id, count, ones, ties, twos in found
    ]


@dataclass
class JudgmentView:
    annotator: str
    kind: str
    preference: float | None
    label: str | None
    shown_swapped: bool | None
    rationale: str | None
    parse_error: str | None
    cost_usd: float | None
    source: str

    @property
    def verdict(self) -> str:
        if self.preference is None:
            return "unparsed"
        if self.preference < 1.5:
            return "output 1"
        if self.preference > 1.5:
            return "output 2"
        return "tie"


@dataclass
class ComparisonView:
    id: int
    external_id: str
    instruction: str
    input: str
    output_1: str
    output_2: str
    generator_1: str
    generator_2: str
    gold_preference: float | None
    judgments: list[JudgmentView]
    route: str = "simulated"
    status: str = "pending"
    escalation: str | None = None  # why an active policy sent it to humans
    errors: list[TaskError] = field(default_factory=list)  # its simulated tasks' errors
    # A conversation prompt's messages (instruction: its last user turn); empty otherwise.
    messages: list[dict[str, str]] = field(default_factory=list)


def comparison_view(session: Session, job_id: int, comparison_id: int) -> ComparisonView | None:
    comparison = session.scalar(
        select(Comparison).where(Comparison.job_id == job_id, Comparison.id == comparison_id)
    )
    if comparison is None:
        return None
    instruction = session.get_one(Instruction, comparison.instruction_id)
    outputs: dict[uuid.UUID, Output] = {
        output.id: output
        for output in session.scalars(
            select(Output).where(Output.id.in_([comparison.output_1_id, comparison.output_2_id]))
        )
    }
    judgments = [
        JudgmentView(
            annotator=name,
            kind=kind,
            preference=a.preference,
            label=a.label,
            shown_swapped=a.shown_swapped,
            rationale=a.rationale,
            parse_error=a.parse_error,
            cost_usd=a.cost_usd,
            source=a.source,
        )
        for a, name, kind in session.execute(
            select(Annotation, Annotator.name, Annotator.kind)
            .join(Annotator, Annotator.id == Annotation.annotator_id)
            .where(Annotation.comparison_id == comparison.id)
            .order_by(Annotator.kind, Annotator.name, Annotation.repeat)
        ).all()
    ]
    first, second = outputs[comparison.output_1_id], outputs[comparison.output_2_id]
    return ComparisonView(
        id=comparison.id,
        external_id=comparison.external_id,
        instruction=instruction.instruction,
        input=instruction.input,
        messages=instruction.messages or [],
        output_1=first.text,
        output_2=second.text,
        generator_1=first.generator,
        generator_2=second.generator,
        gold_preference=comparison.gold_preference,
        judgments=judgments,
        route=comparison.route,
        status=comparison.status,
        escalation=comparison.escalation,
        errors=task_errors(session, [comparison.id]).get(comparison.id, []),
    )
