"""Keyset pages of a job's comparisons (with their texts) and of its judgments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Annotation, Annotator, Comparison, Instruction, Output, Task
from app.db.paging import Page, keyset_page

# Filter value of `escalation` that matches every escalated comparison, whatever the reason.
ANY_ESCALATION = "any"


@dataclass(frozen=True)
class TaskError:
    """Why a simulated task failed (`failed`) or is being retried (`queued` with an error)."""

    annotator: str
    status: str
    attempts: int
    error: str


@dataclass(frozen=True)
class ComparisonListing:
    comparison: Comparison
    instruction: Instruction
    output_1: Output
    output_2: Output
    errors: tuple[TaskError, ...] = ()


def task_errors(session: Session, comparison_ids: list[int]) -> dict[int, list[TaskError]]:
    """The errors of these comparisons' simulated tasks (failed, or waiting for a retry)."""
    errors: dict[int, list[TaskError]] = {}
    if not comparison_ids:
        return errors
    rows = session.execute(
        select(Task.comparison_id, Annotator.name, Task.status, Task.attempts, Task.last_error)
        .join(Annotator, Annotator.id == Task.annotator_id)
        .where(Task.comparison_id.in_(comparison_ids), Task.last_error.is_not(None))
        .order_by(Task.comparison_id, Annotator.name)
    ).all()
    for comparison_id, name, status, attempts, error in rows:
        errors.setdefault(comparison_id, []).append(TaskError(name, status, attempts, error or ""))
    return errors


@dataclass(frozen=True)
class AnnotationListing:
    annotation: Annotation
    annotator: str
    annotator_kind: str
    comparison_external_id: str


def comparison_page(
    session: Session,
    job_id: int,
    *,
    after: int,
    limit: int,
    status: str | None = None,
    route: str | None = None,
    escalation: str | None = None,
    has_error: bool | None = None,
) -> Page[ComparisonListing]:
    """`escalation`: a reason, or `any`; `has_error`: with (or without) a task error."""
    out_1, out_2 = aliased(Output), aliased(Output)
    query: Any = (
        select(Comparison, Instruction, out_1, out_2)
        .join(Instruction, Instruction.id == Comparison.instruction_id)
        .join(out_1, out_1.id == Comparison.output_1_id)
        .join(out_2, out_2.id == Comparison.output_2_id)
        .where(Comparison.job_id == job_id, Comparison.id > after)
    )
    if status is not None:
        query = query.where(Comparison.status == status)
    if route is not None:
        query = query.where(Comparison.route == route)
    if escalation == ANY_ESCALATION:
        query = query.where(Comparison.escalation.is_not(None))
    elif escalation is not None:
        query = query.where(Comparison.escalation == escalation)
    if has_error is not None:
        erring = exists().where(Task.comparison_id == Comparison.id, Task.last_error.is_not(None))
        query = query.where(erring if has_error else ~erring)
    rows = session.execute(query.order_by(Comparison.id).limit(limit + 1)).all()
    page = keyset_page(rows, limit, lambda row: row[0].id)
    errors = task_errors(session, [row[0].id for row in page.items])
    listings = [
        ComparisonListing(
            comparison, instruction, output_1, output_2, tuple(errors.get(comparison.id, ()))
        )
        for comparison, instruction, output_1, output_2 in page.items
    ]
    return Page(listings, page.next_after)


def annotation_page(
    session: Session, job_id: int, *, after: int, limit: int, annotator: str | None = None
) -> Page[AnnotationListing]:
    query: Any = (
        select(Annotation, Annotator.name, Annotator.kind, Comparison.external_id)
        .join(Annotator, Annotator.id == Annotation.annotator_id)
        .join(Comparison, Comparison.id == Annotation.comparison_id)
        .where(Annotation.job_id == job_id, Annotation.id > after)
    )
    if annotator is not None:
        query = query.where(Annotator.name == annotator)
    rows = session.execute(query.order_by(Annotation.id).limit(limit + 1)).all()
    listings = [AnnotationListing(*row) for row in rows]
    return keyset_page(listings, limit, lambda listing: listing.annotation.id)
