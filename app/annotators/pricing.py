"""What a config would send and what it would cost, before any call: the prompt rendered for
sample comparisons, and tokens and dollars per 1,000 comparisons.

Tokens are counted by approximation: one token per `CHARS_PER_TOKEN` characters of the rendered
system and user messages (close to OpenAI's and Anthropic's tokenizers on English text, and the
same figure the workers' rate limits use). Output tokens are counted at the config's
`max_tokens`, the most a call can be billed for, so the price is an upper bound for the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.annotators.config import AnnotatorConfig, PoolConfig
from app.annotators.judging import build_request
from app.annotators.prompts import Messages, ShownItem
from app.annotators.sandbox import TemplateLimits

CHARS_PER_TOKEN = 4
TOKEN_COUNTING = f"approximation: 1 token per {CHARS_PER_TOKEN} characters of the prompt"
# When no comparisons are given: a short, realistic pair (send your own for your texts' price).
SAMPLE = ShownItem(
    instruction="Explain in two sentences why the sky is blue.",
    input="",
    output_a="Sunlight is scattered by the molecules of the air, and blue light, with its short "
    "wavelength, is scattered far more than red. So blue light reaches our eyes from every "
    "direction of the sky.",
    output_b="Because of Rayleigh scattering.",
)


def approximate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Estimate:
    """The cost of judging one comparison with one config, on average over the samples."""

    name: str
    calls_per_comparison: float
    prompt_tokens_per_comparison: float
    completion_tokens_per_comparison: float
    usd_per_comparison: float

    @property
    def usd_per_1000(self) -> float:
        return 1000 * self.usd_per_comparison


@dataclass(frozen=True)
class Preview:
    """A config's first rendered prompt (None for builtin baselines) and its estimate; for a
    pool, each member's too."""

    prompt: Messages | None
    estimate: Estimate
    members: list[Estimate]


def _estimate_annotator(
    config: AnnotatorConfig, samples: list[ShownItem], limits: TemplateLimits
) -> tuple[Messages | None, Estimate]:
    if config.provider == "builtin":
        return None, Estimate(config.name, 0.0, 0.0, 0.0, 0.0)
    size = config.batch_size
    prompts = []
    for start in range(0, len(samples), size):
        items = [samples[(start + i) % len(samples)] for i in range(size)]
        prompts.append(build_request(config, items, limits).messages)
    prompt_tokens_per_call = sum(
        approximate_tokens(m.system) + approximate_tokens(m.user) for m in prompts
    ) / len(prompts)
    calls = (2 if config.both_orders else 1) / size
    prompt_tokens = calls * prompt_tokens_per_call
    completion_tokens = calls * config.max_tokens
    usd = (
        prompt_tokens * config.price_per_mtok_input
        + completion_tokens * config.price_per_mtok_output
    ) / 1_000_000
    return prompts[0], Estimate(config.name, calls, prompt_tokens, completion_tokens, usd)


def preview(
    config: AnnotatorConfig | PoolConfig,
    samples: list[ShownItem],
    limits: TemplateLimits,
    members: dict[str, AnnotatorConfig] | None = None,
) -> Preview:
    """Render and price `config` for `samples` (SAMPLE when empty). A pool needs its member
    configs: each comparison goes to one member, chosen evenly, and the share 2p of
    `p_label_flip` gets a coin instead of a call. Raises ConfigError if a prompt does not
    render."""
    samples = samples or [SAMPLE]
    if isinstance(config, AnnotatorConfig):
        prompt, estimate = _estimate_annotator(config, samples, limits)
        return Preview(prompt, estimate, [])
    previews = [
        _estimate_annotator((members or {})[name], samples, limits) for name in config.members
    ]
    estimates = [estimate for _, estimate in previews]
    called = 1 - 2 * config.p_label_flip
    count = len(estimates)
    pooled = Estimate(
        config.name,
        called * sum(e.calls_per_comparison for e in estimates) / count,
        called * sum(e.prompt_tokens_per_comparison for e in estimates) / count,
        called * sum(e.completion_tokens_per_comparison for e in estimates) / count,
        called * sum(e.usd_per_comparison for e in estimates) / count,
    )
    first_prompt = next((prompt for prompt, _ in previews if prompt is not None), None)
    return Preview(first_prompt, pooled, estimates)
