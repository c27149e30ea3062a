"""Simulated annotator and pool configs: the YAML schema, its validation and its version hash.

A config's SHA-256 (over its canonical JSON and the text of its prompt template) is its version:
it is stored with the annotator and is part of every cache key, so changing a prompt or a decoding
parameter never serves an old answer.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from app.db.values import StoredText

BUILTIN_MODELS = ("longest", "random")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"


class ConfigError(ValueError):
    """A config that cannot be used, with a message that says why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnnotatorConfig(_Strict):
    kind: Literal["annotator"] = "annotator"
    name: str = Field(pattern=NAME_PATTERN)
    description: StoredText = ""
    provider: Literal["openai", "anthropic", "openai_compatible", "builtin"]
    model: StoredText = Field(min_length=1, max_length=200)
    base_url: StoredText | None = Field(
        None, description="Server address; required for openai_compatible (vLLM, Ollama, ...)."
    )
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the key (default OPENAI_API_KEY / "
        "ANTHROPIC_API_KEY). Keys are never stored.",
    )
    prompt: str | None = Field(
        None, pattern=r"^[a-z0-9_]+$", description="A shipped template in app/annotators/prompts."
    )
    prompt_template: StoredText | None = Field(
        None, max_length=50_000, description="Inline Jinja2 template (sandboxed) instead of prompt."
    )
    persona: StoredText = Field("", max_length=2000, description="Who the judge is told it is.")
    parser: Literal["label", "json", "tool", "logprob", "batch", "builtin"]
    label_pattern: StoredText = Field(
        r"^\W*(?:(?i:response|output|answer)\W*)?([AB])\b",
        description="label parser: first group must capture A or B.",
    )
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(64, ge=1, le=32_000)
    batch_size: int = Field(1, ge=1, le=50)
    price_per_mtok_input: float = Field(0.0, ge=0, description="USD per million prompt tokens.")
    price_per_mtok_output: float = Field(0.0, ge=0, description="USD per million output tokens.")
    max_concurrency: int = Field(16, ge=1, le=4096, description="In-flight calls per worker.")
    requests_per_minute: int | None = Field(None, ge=1, description="Per worker process.")
    tokens_per_minute: int | None = Field(None, ge=1, description="Per worker process.")
    timeout_s: float = Field(60.0, gt=0, le=600)
    max_attempts: int = Field(5, ge=1, le=20, description="Calls before a task is failed.")
    randomize_order: bool = True
    both_orders: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> AnnotatorConfig:
        if self.provider == "builtin":
            if self.model not in BUILTIN_MODELS:
                raise ValueError(f"builtin model must be one of {', '.join(BUILTIN_MODELS)}")
            if self.parser != "builtin":
                raise ValueError("builtin annotators use parser 'builtin'")
            return self
        if self.parser == "builtin":
            raise ValueError("parser 'builtin' is only for provider 'builtin'")
        if (self.prompt is None) == (self.prompt_template is None):
            raise ValueError("give exactly one of prompt (a shipped template) or prompt_template")
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError("provider openai_compatible needs base_url")
        if self.parser == "logprob" and self.provider == "anthropic":
            raise ValueError("the Anthropic API returns no logprobs; use label, json or tool")
        if (self.parser == "batch") != (self.batch_size > 1):
            raise ValueError("parser 'batch' goes with batch_size > 1, and only with it")
        if self.both_orders and self.batch_size > 1:
            raise ValueError("both_orders is not available for batched annotators")
        return self


class PoolConfig(_Strict):
    kind: Literal["pool"]
    name: str = Field(pattern=NAME_PATTERN)
    description: StoredText = ""
    members: list[Annotated[StoredText, Field(pattern=NAME_PATTERN)]] = Field(
        min_length=1, max_length=100
    )
    p_label_flip: float = Field(
        0.0, ge=0, le=0.5, description="With probability 2p the label is a fair coin (no call)."
    )

    @model_validator(mode="after")
    def _distinct(self) -> PoolConfig:
        if len(set(self.members)) != len(self.members):
            raise ValueError("pool members repeat a name")
        return self


AnyConfig = Annotated[AnnotatorConfig | PoolConfig, Field(discriminator="kind")]
_any_config: TypeAdapter[AnnotatorConfig | PoolConfig] = TypeAdapter(AnyConfig)


def parse_config(data: dict[str, Any]) -> AnnotatorConfig | PoolConfig:
    """Validate one config dict; raises ConfigError with every problem listed."""
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping")
    data = {"kind": "annotator", **data}
    try:
        return _any_config.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'config'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid config {data.get('name', '?')!r}: {problems}") from exc


def config_sha256(config: AnnotatorConfig | PoolConfig) -> str:
    from app.annotators.prompts import template_source

    payload: dict[str, Any] = config.model_dump(mode="json")
    if isinstance(config, AnnotatorConfig) and config.provider != "builtin":
        payload["_template"] = template_source(config)
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def load_yaml_configs(text: str, source: str) -> list[AnnotatorConfig | PoolConfig]:
    document = yaml.safe_load(text)
    entries = document.get("annotators", []) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: expected a mapping with a list under 'annotators'")
    return [parse_config(entry) for entry in entries]


@lru_cache
def builtin_configs() -> dict[str, AnnotatorConfig | PoolConfig]:
    """The configs shipped in app/annotators/configs/*.yaml, by name."""
    configs: dict[str, AnnotatorConfig | PoolConfig] = {}
    folder = resources.files("app.annotators") / "configs"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        for config in load_yaml_configs(entry.read_text("utf-8"), entry.name):
            if config.name in configs:
                raise ConfigError(f"{entry.name}: {config.name!r} is defined twice")
            configs[config.name] = config
    for config in configs.values():
        if isinstance(config, PoolConfig):
            missing = [m for m in config.members if not isinstance(configs.get(m), AnnotatorConfig)]
            if missing:
                raise ConfigError(f"pool {config.name!r} names unknown annotators: {missing}")
    return configs
