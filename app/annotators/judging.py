"""From comparisons to a provider request, and from its answer to verdicts per comparison."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import (
    ParseError,
    Verdict,
    parse_batch,
    parse_json,
    parse_label,
    parse_logprobs,
    parse_tool_arguments,
)
from app.annotators.prompts import ShownItem, render
from app.annotators.providers.base import LlmRequest, LlmResponse, Mode
from app.annotators.sandbox import TemplateLimits

MODE_BY_PARSER: dict[str, Mode] = {
    "label": "text",
    "json": "json",
    "tool": "tool",
    "logprob": "logprob",
    "batch": "text",
}


@dataclass(frozen=True)
class Pair:
    """A comparison in its own frame, as stored."""

    instruction: str
    input: str
    output_1: str
    output_2: str
    # A conversation prompt's messages (empty for an instruction).
    messages: list[dict[str, str]] = field(default_factory=list)

    def shown(self, swapped: bool) -> ShownItem:
        first, second = (
            (self.output_2, self.output_1) if swapped else (self.output_1, self.output_2)
        )
        return ShownItem(self.instruction, self.input, first, second, self.messages)


def build_request(
    config: AnnotatorConfig, items: list[ShownItem], limits: TemplateLimits
) -> LlmRequest:
    return LlmRequest(
        messages=render(config, items, limits),
        model=config.model,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        mode=MODE_BY_PARSER[config.parser],
    )


def parse_response(config: AnnotatorConfig, response: LlmResponse, count: int) -> list[Verdict]:
    """Verdicts in the shown frame, one per item; raises ParseError."""
    if config.parser == "batch":
        return parse_batch(response.text, count)
    if count != 1:
        raise ParseError(f"parser {config.parser} judges one comparison per call, not {count}")
    if config.parser == "label":
        return [parse_label(response.text, config.label_pattern)]
    if config.parser == "json":
        return [parse_json(response.text)]
    if config.parser == "tool":
        return [parse_tool_arguments(response.tool_arguments)]
    if config.parser == "logprob":
        return [parse_logprobs(response.top_logprobs)]
    raise ParseError(f"parser {config.parser} has no network answer to parse")
