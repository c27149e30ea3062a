"""Rendering prompt templates (Jinja2, sandboxed) into chat messages.

A template renders the system message, a line `=== user ===`, then the user message. It sees
`persona` and `items`, a list of comparisons as shown to the judge: `instruction`, `input`,
`output_a` (shown first), `output_b` and `messages`. A conversation prompt has its message list
(`role`, `content`) in `messages` and its last user turn in `instruction`; an instruction prompt
has an empty `messages`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound

from app.annotators.config import AnnotatorConfig, ConfigError
from app.annotators.sandbox import (
    BoundedEnvironment,
    TemplateLimitExceeded,
    TemplateLimits,
    render_bounded,
)

USER_MARKER = "=== user ==="


@dataclass(frozen=True)
class ShownItem:
    instruction: str
    input: str
    output_a: str
    output_b: str
    messages: list[dict[str, str]] = field(default_factory=list)


# A conversation, rendered when a config is registered next to an instruction sample, so a
# template that breaks on one is refused then.
_CONVERSATION_SAMPLE = [
    {"role": "system", "content": "You are a friendly assistant."},
    {"role": "user", "content": "Say hello."},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Now in French."},
]


@dataclass(frozen=True)
class Messages:
    system: str
    user: str

    def as_openai(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


class _PackageLoader(BaseLoader):
    def get_source(self, environment, template):  # type: ignore[no-untyped-def]
        path = resources.files("app.annotators") / "prompts" / template
        if not path.is_file():
            raise TemplateNotFound(template)
        return path.read_text("utf-8"), None, lambda: True


@lru_cache
def _environment() -> BoundedEnvironment:
    return BoundedEnvironment(
        loader=_PackageLoader(), undefined=StrictUndefined, keep_trailing_newline=False
    )


def shipped_prompts() -> list[str]:
    folder = resources.files("app.annotators") / "prompts"
    return sorted(
        e.name.removesuffix(".j2")
        for e in folder.iterdir()
        if e.name.endswith(".j2") and not e.name.startswith("_")
    )


def template_source(config: AnnotatorConfig) -> str:
    """The text a config's prompt depends on (its template and the shared frame)."""
    if config.prompt_template is not None:
        return config.prompt_template
    folder = resources.files("app.annotators") / "prompts"
    path = folder / f"{config.prompt}.j2"
    if not path.is_file():
        raise ConfigError(f"unknown prompt {config.prompt!r}; shipped: {shipped_prompts()}")
    return path.read_text("utf-8") + (folder / "_frame.j2").read_text("utf-8")


@lru_cache(maxsize=256)
def _compiled(prompt: str | None, inline: str | None):  # type: ignore[no-untyped-def]
    environment = _environment()
    if inline is not None:
        return environment.from_string(inline)
    return environment.get_template(f"{prompt}.j2")


def check_template(config: AnnotatorConfig, limits: TemplateLimits) -> None:
    """Render a sample so a broken (or unbounded) template is reported when the config is
    registered."""
    sample = ShownItem("Say hello.", "", "Hello!", "Hi there.")
    render(config, [sample] * config.batch_size, limits)
    conversation = ShownItem("Now in French.", "", "Bonjour !", "Salut.", _CONVERSATION_SAMPLE)
    render(config, [conversation] * config.batch_size, limits)


def render(config: AnnotatorConfig, items: list[ShownItem], limits: TemplateLimits) -> Messages:
    """The template's messages for these items, rendered within `limits`
    (app.annotators.sandbox); raises ConfigError, TemplateLimitExceeded."""
    try:
        text = render_bounded(
            _compiled(config.prompt, config.prompt_template),
            limits,
            persona=config.persona,
            items=items,
        )
    except TemplateLimitExceeded:
        raise
    except Exception as exc:  # any template error is the config's fault
        raise ConfigError(f"prompt of {config.name!r} does not render: {exc}") from exc
    system, marker, user = text.partition(USER_MARKER)
    if not marker:
        raise ConfigError(f"prompt of {config.name!r} has no '{USER_MARKER}' line")
    return Messages(system=system.strip(), user=user.strip())
