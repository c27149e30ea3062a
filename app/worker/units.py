"""Units of work: the provider calls one or more tasks need, and the annotations they yield.

A unit is one task (or `batch_size` tasks of one annotator and job in one prompt). It has one
call, or two with `both_orders`. Nothing here touches the database or the network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.annotators.config import AnnotatorConfig
from app.annotators.judging import Pair, build_request, parse_response
from app.annotators.parsers import ParseError, Verdict
from app.annotators.pricing import CHARS_PER_TOKEN
from app.annotators.providers.base import LlmRequest, LlmResponse
from app.annotators.sandbox import TemplateLimits
from app.annotators.seeding import label_for, shown_swapped, to_comparison_frame
from app.worker.store import ClaimedTask


@dataclass
class Call:
    request: LlmRequest
    cache_key: str
    swapped: list[bool]  # per task of the unit
    response: LlmResponse | None = None
    cached: bool = False
    latency_ms: float = 0.0
    cost_usd: float = 0.0

    @property
    def estimated_tokens(self) -> int:
        text = self.request.messages.system + self.request.messages.user
        return len(text) // CHARS_PER_TOKEN + self.request.max_tokens


@dataclass
class Unit:
    annotator_id: int
    annotator_name: str
    config: AnnotatorConfig
    config_sha256: str
    job_id: int
    tasks: list[ClaimedTask]
    calls: list[Call] = field(default_factory=list)

    @property
    def paid_usd(self) -> float:
        return sum(call.cost_usd for call in self.calls)


def cache_key(config_sha256: str, request: LlmRequest) -> str:
    payload = {"config": config_sha256, **request.cache_payload()}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def plan_calls(unit: Unit, seed: int, limits: TemplateLimits) -> None:
    config = unit.config
    swaps = [
        shown_swapped(seed, task.key, unit.annotator_name, randomize=config.randomize_order)
        for task in unit.tasks
    ]
    orders = [swaps, [not s for s in swaps]] if config.both_orders else [swaps]
    for order in orders:
        items = [
            _pair(task).shown(swapped) for task, swapped in zip(unit.tasks, order, strict=True)
        ]
        request = build_request(config, items, limits)
        unit.calls.append(Call(request, cache_key(unit.config_sha256, request), order))


def _pair(task: ClaimedTask) -> Pair:
    return Pair(task.instruction, task.input, task.output_1, task.output_2, task.messages)


def price(config: AnnotatorConfig, response: LlmResponse) -> float:
    return (
        response.prompt_tokens * config.price_per_mtok_input
        + response.completion_tokens * config.price_per_mtok_output
    ) / 1_000_000


def _share(total: int, count: int, index: int) -> int:
    return total // count + (1 if index < total % count else 0)


def annotation_rows(unit: Unit) -> list[dict[str, Any]]:
    """One annotation per task; raises BatchCountMismatch (the unit is retried)."""
    count = len(unit.tasks)
    verdicts: list[list[Verdict | None]] = []
    errors: list[str | None] = []
    responses = [call.response for call in unit.calls if call.response is not None]
    if len(responses) != len(unit.calls):
        raise ValueError("every call of a unit must be answered before its annotations are made")
    for response in responses:
        try:
            verdicts.append(list(parse_response(unit.config, response, count)))
            errors.append(None)
        except ParseError as exc:
            if unit.config.parser == "batch":
                raise
            verdicts.append([None] * count)
            errors.append(str(exc))
    rows = []
    for index, task in enumerate(unit.tasks):
        parse_error = "; ".join(e for e in errors if e) or None
        in_frame = [
            to_comparison_frame(verdict.preference, call.swapped[index])
            for v, call in zip(verdicts, unit.calls, strict=True)
            if (verdict := v[index]) is not None
        ]
        preference = None if parse_error else sum(in_frame) / len(in_frame)
        metadata: dict[str, Any] = {"config_sha256": unit.config_sha256, "model": unit.config.model}
        if any(call.cached for call in unit.calls):
            metadata["cached"] = True
        if count > 1:
            metadata["batch"] = {"size": count, "index": index}
        if task.pool:
            metadata["pool"] = task.pool
        if len(unit.calls) == 2 and parse_error is None:
            first, second = in_frame
            metadata["both_orders"] = {
                "preferences": in_frame,
                "consistent": label_for(first) == label_for(second),
            }
        rationale = next(
            (verdict.rationale for v in verdicts if (verdict := v[index]) and verdict.rationale),
            None,
        )
        rows.append(
            {
                "job_id": task.job_id,
                "comparison_id": task.comparison_id,
                "annotator_id": unit.annotator_id,
                "repeat": 0,
                "preference": preference,
                "label": label_for(preference) if preference is not None else None,
                "shown_swapped": unit.calls[0].swapped[index],
                "rationale": rationale,
                "raw_completion": "\n---\n".join(r.text for r in responses),
                "parse_error": parse_error,
                "cost_usd": sum(c.cost_usd for c in unit.calls) / count,
                "prompt_tokens": sum(_share(r.prompt_tokens, count, index) for r in responses),
                "completion_tokens": sum(
                    _share(r.completion_tokens, count, index) for r in responses
                ),
                "latency_ms": sum(c.latency_ms for c in unit.calls),
                "is_noisy_label": False,
                "source": "worker",
                "metadata": metadata,
            }
        )
    return rows


def direct_annotation(
    task: ClaimedTask,
    annotator_id: int,
    preference: float,
    *,
    noisy: bool,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """An annotation made without a provider: a builtin baseline, pool label noise, or a tie
    between identical outputs. No judge saw the outputs in an order, so `shown_swapped` is
    unknown (position bias does not apply)."""
    return {
        "job_id": task.job_id,
        "comparison_id": task.comparison_id,
        "annotator_id": annotator_id,
        "repeat": 0,
        "preference": preference,
        "label": label_for(preference),
        "shown_swapped": None,
        "rationale": None,
        "raw_completion": None,
        "parse_error": None,
        "cost_usd": 0.0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "latency_ms": 0.0,
        "is_noisy_label": noisy,
        "source": "worker",
        "metadata": metadata,
    }
