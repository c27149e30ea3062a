"""LLM providers behind one interface: `make_provider(config, clients).complete(request)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.annotators.config import AnnotatorConfig
from app.annotators.providers.base import (
    LlmRequest,
    LlmResponse,
    Mode,
    Provider,
    ProviderError,
)

if TYPE_CHECKING:
    from app.annotators.providers.http import HttpClients

__all__ = [
    "LlmRequest",
    "LlmResponse",
    "Mode",
    "Provider",
    "ProviderError",
    "load_providers",
    "make_provider",
]


def load_providers() -> None:
    """Import the HTTP stack (aiohttp) before the first call needs it."""
    import app.annotators.providers.anthropic_messages
    import app.annotators.providers.openai_chat  # noqa: F401


def make_provider(config: AnnotatorConfig, clients: HttpClients) -> Provider:
    """The provider of a config; its calls share `clients`' connections with every other
    config that calls the same address."""
    if config.provider == "anthropic":
        from app.annotators.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider(config, clients)
    if config.provider in ("openai", "openai_compatible"):
        from app.annotators.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(config, clients)
    raise ValueError(f"provider {config.provider!r} makes no network calls")
