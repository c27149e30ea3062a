"""Storing a batch of comparisons: content-addressed texts, idempotent external ids."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.annotators.seeding import comparison_key
from app.db.bulk import append_rows, existing_rows, retry_on_unique_violation
from app.db.messages import canonical_json
from app.db.models import Comparison, Instruction, Job, Output, table
from app.errors import RequestError
from app.ingest.parse import RowErrors
from app.ingest.rows import ComparisonRow, output_messages, output_text
from app.routing.completion import settle_jobs
from app.routing.planning import plan_tasks
from app.routing.policy import Routing, initial_route


@dataclass(frozen=True)
class IngestCounts:
    received: int
    created: int

    @property
    def unchanged(self) -> int:
        return self.received - self.created


def _digest(*parts: str) -> bytes:
    """SHA-256 of the parts, length-prefixed so that no two different tuples collide."""
    encoded = [part.encode() for part in parts]
    return hashlib.sha256(b"".join(b"%d:%b" % (len(e), e) for e in encoded)).digest()


def instruction_uuid(instruction: str, input_text: str) -> uuid.UUID:
    return uuid.UUID(bytes=_digest("instruction", instruction, input_text)[:16])


def output_uuid(instruction_id: uuid.UUID, generator: str, output: str) -> uuid.UUID:
    return uuid.UUID(bytes=_digest("output", instruction_id.hex, generator, output)[:16])


def conversation_uuid(messages_json: str) -> uuid.UUID:
    """A conversation's key: its canonical JSON (app/db/messages.py), tagged apart from
    instructions."""
    return uuid.UUID(bytes=_digest("conversation", messages_json)[:16])


def candidate_uuid(
    instruction_id: uuid.UUID, generator: str, text: str, messages_json: str | None
) -> uuid.UUID:
    """An output's key; a multi-message candidate is keyed by its messages, not its joined
    text."""
    if messages_json is None:
        return output_uuid(instruction_id, generator, text)
    return uuid.UUID(
        bytes=_digest("output-messages", instruction_id.hex, generator, messages_json)[:16]
    )


def _messages_json(messages: list[dict[str, str]] | None) -> str | None:
    return canonical_json(messages) if messages is not None else None


@dataclass(frozen=True)
class PreparedTexts:
    """A row's prompt and candidates as stored: texts and, where given, message lists (JSON)."""

    instruction: str
    input: str
    messages_json: str | None
    output_1: str
    output_2: str
    output_1_json: str | None
    output_2_json: str | None

    @classmethod
    def of(cls, row: ComparisonRow) -> PreparedTexts:
        return cls(
            instruction=row.prompt_instruction,
            input=row.input,
            messages_json=_messages_json(row.message_dicts),
            output_1=output_text(row.output_1),
            output_2=output_text(row.output_2),
            output_1_json=_messages_json(output_messages(row.output_1)),
            output_2_json=_messages_json(output_messages(row.output_2)),
        )

    def instruction_id(self) -> uuid.UUID:
        if self.messages_json is not None:
            return conversation_uuid(self.messages_json)
        return instruction_uuid(self.instruction, self.input)


@dataclass(frozen=True)
class PreparedRow:
    row_no: int
    row: ComparisonRow
    texts: PreparedTexts
    external_id: str
    content_sha256: str
    instruction_id: str
    output_1_id: str
    output_2_id: str
    metadata_json: str | None


def _prepare(row_no: int, row: ComparisonRow) -> PreparedRow:
    texts = PreparedTexts.of(row)
    instruction_id = texts.instruction_id()
    output_1_id = candidate_uuid(
        instruction_id, row.generator_1, texts.output_1, texts.output_1_json
    ).hex
    output_2_id = candidate_uuid(
        instruction_id, row.generator_2, texts.output_2, texts.output_2_json
    ).hex
    metadata = (
        orjson.dumps(row.metadata, option=orjson.OPT_SORT_KEYS).decode() if row.metadata else None
    )
    content = _digest(output_1_id, output_2_id, repr(row.gold_preference), metadata or "").hex()
    return PreparedRow(
        row_no=row_no,
        row=row,
        texts=texts,
        external_id=row.id if row.id is not None else f"sha256:{content[:32]}",
        content_sha256=content,
        instruction_id=instruction_id.hex,
        output_1_id=output_1_id,
        output_2_id=output_2_id,
        metadata_json=metadata,
    )


def check_comparisons(rows: list[ComparisonRow]) -> int:
    """Every rule of a batch that does not need a job (the rows are validated already): ids
    unique in the batch. Raises RequestError like `store_comparisons`; returns the row count."""
    _reject_duplicate_ids([_prepare(row_no, row) for row_no, row in enumerate(rows, start=1)])
    return len(rows)


def store_comparisons(session: Session, job: Job, rows: list[ComparisonRow]) -> IngestCounts:
    """Store all rows or none. Raises RequestError: 422 for ids repeated in the batch,
    409 for an id stored already with other content, 409 for a cancelled job."""
    if job.status == "cancelled":
        raise RequestError(
            409, "job_cancelled", f"job {job.id} is cancelled and takes no more work"
        )
    prepared = [_prepare(row_no, row) for row_no, row in enumerate(rows, start=1)]
    _reject_duplicate_ids(prepared)
    routing = Routing.of(job.routing)
    routes = [
        initial_route(
            routing, job.seed, comparison_key(p.instruction_id, p.output_1_id, p.output_2_id)
        )
        for p in prepared
    ]
    job_id = job.id
    created = retry_on_unique_violation(
        session, lambda: _append_new(session, job_id, routes, prepared)
    )
    if created:
        settle_jobs(session, [job_id])  # a done job with new work is active again
    return IngestCounts(received=len(rows), created=created)


def _append_new(
    session: Session, job_id: int, routes: list[str], prepared: list[PreparedRow]
) -> int:
    stored = existing_rows(
        session,
        Comparison.external_id,
        (p.external_id for p in prepared),
        returning=[Comparison.content_sha256],
        where=Comparison.job_id == job_id,
    )
    _reject_changed_content(prepared, stored)
    new = [p for p in prepared if p.external_id not in stored]
    route_of = {p.row_no: route for p, route in zip(prepared, routes, strict=True)}

    known_instructions = existing_rows(
        session, Instruction.id, (uuid.UUID(p.instruction_id) for p in new)
    )
    instructions: dict[str, tuple[Any, ...]] = {}
    for p in new:
        if uuid.UUID(p.instruction_id) not in known_instructions:
            t = p.texts
            instructions.setdefault(
                p.instruction_id, (p.instruction_id, t.instruction, t.input, t.messages_json)
            )
    append_rows(
        session,
        table(Instruction),
        ["id", "instruction", "input", "messages"],
        list(instructions.values()),
    )

    candidate_outputs: dict[str, tuple[Any, ...]] = {}
    for p in new:
        t = p.texts
        for output_id, generator, text, messages_json in (
            (p.output_1_id, p.row.generator_1, t.output_1, t.output_1_json),
            (p.output_2_id, p.row.generator_2, t.output_2, t.output_2_json),
        ):
            candidate_outputs.setdefault(
                output_id, (output_id, p.instruction_id, generator, text, messages_json)
            )
    known_outputs = existing_rows(session, Output.id, (uuid.UUID(key) for key in candidate_outputs))
    outputs = [row for key, row in candidate_outputs.items() if uuid.UUID(key) not in known_outputs]
    append_rows(
        session, table(Output), ["id", "instruction_id", "generator", "text", "messages"], outputs
    )

    append_rows(
        session,
        table(Comparison),
        [
            "job_id",
            "external_id",
            "instruction_id",
            "output_1_id",
            "output_2_id",
            "gold_preference",
            "route",
            "status",
            "metadata",
            "content_sha256",
        ],
        [
            (
                job_id,
                p.external_id,
                p.instruction_id,
                p.output_1_id,
                p.output_2_id,
                p.row.gold_preference,
                route_of[p.row_no],
                "pending",
                p.metadata_json,
                p.content_sha256,
            )
            for p in new
        ],
    )
    plan_tasks(session, job_id, [p.external_id for p in new])
    return len(new)


def _reject_changed_content(
    prepared: list[PreparedRow], stored: dict[Any, tuple[Any, ...]]
) -> None:
    changed = [
        {"row": p.row_no, "field": "id", "reason": f"id {p.external_id!r} differs"}
        for p in prepared
        if p.external_id in stored and stored[p.external_id][0] != p.content_sha256
    ]
    if changed:
        raise RequestError(
            409,
            "id_conflict",
            "these ids are stored already with other content; nothing was stored",
            {"errors": changed[:100], "error_count": len(changed)},
        )


def _reject_duplicate_ids(prepared: list[PreparedRow]) -> None:
    first_row: dict[str, int] = {}
    errors = RowErrors()
    for p in prepared:
        if p.external_id in first_row:
            errors.add(
                p.row_no,
                "id",
                f"id {p.external_id!r} appears already in row {first_row[p.external_id]}",
            )
        else:
            first_row[p.external_id] = p.row_no
    errors.raise_if_any("the batch repeats ids; nothing was stored")
