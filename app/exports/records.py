"""The lines of each dataset format, read from the database in streaming order (SQLAlchemy Core).

Every line carries `comparison_id`, the comparison's external id, so a dataset can be traced back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, Select, String, case, cast, func, select
from sqlalchemy.orm import aliased

from app.annotators.seeding import unit_interval
from app.db.dialect import is_postgres, stream_batches
from app.db.messages import (
    candidate_messages,
    candidate_text,
    instruction_prompt,
    prompt_messages,
    user_turns,
)
from app.db.models import Instruction, table
from app.exports.options import PER_JUDGMENT, ExportOptions
from app.exports.prefetch import prefetched
from app.stats.data import (
    BATCH_ROWS,
    annotations_t,
    annotators_t,
    comparisons_t,
    joined_annotations,
    outputs_t,
)

Record = dict[str, Any]
# Rows that carry an instruction and two outputs are fetched fewer at a time: memory stays flat
# however long the texts are.
TEXT_BATCH_ROWS = 2_000
instructions_t = table(Instruction)
a, c = annotations_t.c, comparisons_t.c


def split_of(instruction_key: str, seed: int, test_fraction: float) -> str:
    """'test' for a seeded share of instructions, the same for every line of an instruction."""
    digest = hashlib.sha256(f"{seed}:{instruction_key}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") < test_fraction * 2**64 else "train"


# The `annotations` line's keys, in the order of judgment_query's columns for that format (a
# record is dict(zip(ANNOTATION_KEYS, row)); the row's last column, the instruction id for the
# split, is left out by zip).
ANNOTATION_KEYS = (
    "annotation_id",
    "comparison_id",
    "generator_1",
    "generator_2",
    "annotator",
    "annotator_kind",
    "repeat",
    "preference",
    "label",
    "shown_swapped",
    "is_noisy_label",
    "cost_usd",
    "latency_ms",
    "seconds_on_task",
    "created_at",
    "strength",
    "guideline_version",
    "rationale",
    "parse_error",
    "raw_completion_chars",
    "config_sha256",
    "prompt_tokens",
    "completion_tokens",
    "source",
)


def judgment_query(options: ExportOptions, job_id: int) -> Select[Any]:
    o1, o2 = aliased(outputs_t), aliased(outputs_t)
    instruction_id = cast(c.instruction_id, String)
    columns: list[Any] = [
        a.id,
        c.external_id,
        instruction_id,
        o1.c.generator,
        o2.c.generator,
        annotators_t.c.name,
        annotators_t.c.kind,
        a.repeat,
        a.preference,
        a.label,
        a.shown_swapped,
        a.is_noisy_label,
        a.cost_usd,
        a.latency_ms,
        a.seconds_on_task,
        a.created_at,
        a.strength,
        a.guideline_version,
    ]
    if options.format == "annotations":
        del columns[2]  # moved to the end: the columns follow ANNOTATION_KEYS
        columns += [
            a.rationale,
            a.parse_error,
            func.length(a.raw_completion),
            annotators_t.c.config_sha256,
            a.prompt_tokens,
            a.completion_tokens,
            a.source,
            instruction_id,
        ]
    if options.format == "arena":
        columns += _arena_prompt_columns(options, o1, o2)
    query = joined_annotations(
        columns, job_id, options.selection, with_annotators=True, with_comparisons=True
    )
    query = query.join(o1, o1.c.id == c.output_1_id).join(o2, o2.c.id == c.output_2_id)
    if options.format == "arena":
        query = query.join(instructions_t, instructions_t.c.id == c.instruction_id)
    if options.format == "arena" and options.ties == "drop":
        query = query.where(a.preference != 1.5)
    if options.format == "arena":
        query = query.where(a.preference.is_not(None))
    return query.order_by(a.id)


def _arena_prompt_columns(options: ExportOptions, o1: Any, o2: Any) -> list[Any]:
    """Columns 18 on of an arena line: the prompt's messages (for `turn`), and with
    `conversational` the texts its conversation fields are made of."""
    i = instructions_t.c
    columns: list[Any] = [i.messages]
    if options.conversational:
        columns += [i.instruction, i.input, o1.c.text, o1.c.messages, o2.c.text, o2.c.messages]
    return columns


def _arena_conversations(row: Any, swapped: bool) -> Record:
    """FastChat's `conversation_a` / `conversation_b`: the prompt, then that model's turn."""
    prompt = prompt_messages(row[19], row[20], row[18])
    side_1 = prompt + candidate_messages(row[21], row[22])
    side_2 = prompt + candidate_messages(row[23], row[24])
    return {
        "conversation_a": side_2 if swapped else side_1,
        "conversation_b": side_1 if swapped else side_2,
    }


def _arena_winner(preference: float, label: str | None) -> str:
    if preference < 1.5:
        return "model_a"
    if preference > 1.5:
        return "model_b"
    return "tie (bothbad)" if label == "both_bad" else "tie"


def _arena_sides_swapped(row: Any, seed: int) -> bool:
    """model_a is the output the judge saw first; where that is unknown (imported judgments,
    judges that see no order) a seeded coin per judgment decides, so model_a is not always
    output_1."""
    if row[10] is not None:
        return bool(row[10])
    return unit_interval("arena-side", seed, row[0]) < 0.5


def _arena_record(row: Any, options: ExportOptions) -> Record:
    """A battle as FastChat's Elo analysis (`report_elo_analysis_results`) reads it."""
    seed = options.seed
    swapped = _arena_sides_swapped(row, seed)
    preference = 3.0 - row[8] if swapped else row[8]
    created: datetime = row[15]
    record = {
        "comparison_id": row[1],
        "question_id": row[2].replace("-", ""),
        "model_a": row[4] if swapped else row[3],
        "model_b": row[3] if swapped else row[4],
        "winner": _arena_winner(preference, row[9]),
        "judge": row[5],
        "anony": True,  # judges never see which generator wrote an output
        "tstamp": created.timestamp(),
        "turn": user_turns(row[18]),
    }
    if options.conversational:
        record.update(_arena_conversations(row, swapped))
    return record


def aggregate_query(options: ExportOptions, job_id: int) -> Select[Any]:
    p = a.preference
    agg = (
        joined_annotations(
            [
                a.comparison_id.label("comparison_id"),
                func.count(p).label("n"),
                func.avg(p, type_=Float).label("mean"),
                func.sum(case((p < 1.5, 1), else_=0)).label("n_1"),
                func.sum(case((p > 1.5, 1), else_=0)).label("n_2"),
            ],
            job_id,
            options.selection,
        )
        .where(p.is_not(None))
        .group_by(a.comparison_id)
        .having(func.count(p) >= options.min_judgments)
        .subquery()
    )
    o1, o2 = aliased(outputs_t), aliased(outputs_t)
    i = instructions_t.c
    return (
        select(
            c.external_id,
            cast(c.instruction_id, String),
            i.instruction,
            i.input,
            o1.c.generator,
            o1.c.text,
            o2.c.generator,
            o2.c.text,
            agg.c.n,
            agg.c.mean,
            agg.c.n_1,
            agg.c.n_2,
            i.messages,
            o1.c.messages,
            o2.c.messages,
        )
        .select_from(
            agg.join(comparisons_t, c.id == agg.c.comparison_id)
            .join(instructions_t, i.id == c.instruction_id)
            .join(o1, o1.c.id == c.output_1_id)
            .join(o2, o2.c.id == c.output_2_id)
        )
        .order_by(c.id)
    )


def _verdict(options: ExportOptions, n: int, mean: float, n_1: int, n_2: int) -> tuple[int, float]:
    """(winner 1 / 2, or 0 for a tie; how far the votes agree, in [0, 1]).

    The agreement is not a preference margin: it is never written as `margin`, which TRL's
    reward trainer would read as a target reward gap."""
    if options.aggregate == "mean":
        winner = 1 if mean < 1.5 else 2 if mean > 1.5 else 0
        return winner, abs(mean - 1.5) * 2
    winner = (
        1 if n_1 > n_2 and n_1 > n - n_1 - n_2 else 2 if n_2 > n_1 and n_2 > n - n_1 - n_2 else 0
    )
    return winner, abs(n_2 - n_1) / n


def _sides(row: Any, winner: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The chosen and rejected candidates of an aggregate row, as message lists."""
    first, second = candidate_messages(row[5], row[13]), candidate_messages(row[7], row[14])
    return (first, second) if winner == 1 else (second, first)


def hh_transcript(messages: list[dict[str, str]]) -> str:
    """A prompt in Anthropic HH's form, up to the `Assistant:` the candidate follows. HH has no
    system role: a system message is written as plain text before the first `Human:` turn."""
    parts = [
        m["content"] if m["role"] == "system" else f"\n\n{_HH_SPEAKERS[m['role']]}: {m['content']}"
        for m in messages
    ]
    return "".join(parts) + "\n\nAssistant: "


_HH_SPEAKERS = {"user": "Human", "assistant": "Assistant"}


def _pair_record(options: ExportOptions) -> Callable[[Any, int, float], Record]:
    def alpaca_farm(row: Any, winner: int, agreement: float) -> Record:
        # Ties never get here (ties=keep is refused): AlpacaFarm reads 1 or 2 only.
        return {
            "comparison_id": row[0],
            "instruction": row[2],
            "input": row[3],
            "output_1": row[5],
            "output_2": row[7],
            "preference": winner,
            "generator_1": row[4],
            "generator_2": row[6],
        }

    def trl(row: Any, winner: int, agreement: float) -> Record:
        chosen: Any
        rejected: Any
        chosen, rejected = (row[5], row[7]) if winner == 1 else (row[7], row[5])
        chosen_by, rejected_by = (row[4], row[6]) if winner == 1 else (row[6], row[4])
        prompt: Any = instruction_prompt(row[2], row[3])
        if options.conversational:
            prompt = prompt_messages(row[2], row[3], row[12])
            chosen, rejected = _sides(row, winner)
        # Columns other than prompt/chosen/rejected (and margin, not written) are ignored by
        # TRL's trainers.
        return {
            "comparison_id": row[0],
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "chosen_generator": chosen_by,
            "rejected_generator": rejected_by,
            "vote_agreement": agreement,
        }

    def openai_dpo(row: Any, winner: int, agreement: float) -> Record:
        chosen, rejected = _sides(row, winner)
        record: Record = {"comparison_id": row[0]} if options.trace else {}
        record.update(
            {
                "input": {"messages": prompt_messages(row[2], row[3], row[12])},
                "preferred_output": chosen,
                "non_preferred_output": rejected,
            }
        )
        return record

    def hh_rlhf(row: Any, winner: int, agreement: float) -> Record:
        chosen, rejected = _sides(row, winner)
        prompt = hh_transcript(prompt_messages(row[2], row[3], row[12]))
        return {
            "comparison_id": row[0],
            "chosen": prompt + candidate_text(chosen),
            "rejected": prompt + candidate_text(rejected),
        }

    return {
        "alpaca_farm": alpaca_farm,
        "trl": trl,
        "openai_dpo": openai_dpo,
        "hh_rlhf": hh_rlhf,
    }[options.format]


def iter_records(connection: Connection, job_id: int, options: ExportOptions) -> Iterator[Record]:
    """Every line of the export, in the database's order."""
    splitting = options.test_fraction > 0

    def split(instruction_id: Any) -> str:
        return split_of(instruction_id.replace("-", ""), options.split_seed, options.test_fraction)

    if options.format in PER_JUDGMENT:
        annotations = options.format == "annotations"
        instruction_at = -1 if annotations else 2  # the instruction id's column
        keys = ANNOTATION_KEYS
        query = judgment_query(options, job_id)
        for batch in stream_batches(connection, query, BATCH_ROWS):
            if annotations and not splitting:  # the common case, kept tight
                yield from (dict(zip(keys, row, strict=False)) for row in batch)
                continue
            for row in batch:
                record = (
                    dict(zip(keys, row, strict=False))
                    if annotations
                    else _arena_record(row, options)
                )
                if splitting:
                    part = split(row[instruction_at])
                    if options.split not in ("all", part):
                        continue
                    record["split"] = part
                yield record
        return
    make_pair = _pair_record(options)
    keep_ties = options.ties == "keep"
    for batch in _prefetched_batches(connection, aggregate_query(options, job_id), TEXT_BATCH_ROWS):
        for row in batch:
            winner, margin = _verdict(options, row[8], row[9], row[10], row[11])
            if winner == 0 and not keep_ties:
                continue
            record = make_pair(row, winner, margin)
            if splitting:
                part = split(row[1])
                if options.split not in ("all", part):
                    continue
                record["split"] = part
            yield record


def _prefetched_batches(
    connection: Connection, query: Select[Any], batch_rows: int
) -> Iterator[Any]:
    """The query's rows in batches; on PostgreSQL the next batch is fetched while the current
    one is encoded. Worth it where PostgreSQL works hard per row (the aggregate of a pair
    export: 1.4x COPY's rate with it); not for the per-judgment lines, whose fetching and
    encoding are both Python's and would only contend for the GIL (bench/export.py: 0.75x)."""
    batches = stream_batches(connection, query, batch_rows)
    return prefetched(batches) if is_postgres(connection) else batches


def count_candidates(connection: Connection, job_id: int, options: ExportOptions) -> int:
    """An upper bound on the lines (before ties and the split are dropped), for progress bars."""
    query = (
        judgment_query(options, job_id)
        if options.format in PER_JUDGMENT
        else aggregate_query(options, job_id)
    )
    return connection.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
