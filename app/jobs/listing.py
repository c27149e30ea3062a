"""Keyset pages of a job's comparisons (with their texts) and of its judgments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.db.models import Annotation, Annotator, Comparison, Instruction, Output
from app.db.paging import Page, keyset_page


@dataclass(frozen=True)
class ComparisonListing:
    comparison: Comparison
    instruction: Instruction
    output_1: Output
    output_2: Output


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
) -> Page[ComparisonListing]:
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
    rows = session.execute(query.order_by(Comparison.id).limit(limit + 1)).all()
    listings = [ComparisonListing(*row) for row in rows]
    return keyset_page(listings, limit, lambda listing: listing.comparison.id)


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
