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
    from app.annotators.providers.clients import ProviderClients

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
    """Import the SDKs (slow: seconds) before the first call needs them."""
    import app.annotators.providers.anthropic_messages
    import app.annotators.providers.openai_chat  # noqa: F401


def make_provider(config: AnnotatorConfig, clients: ProviderClients) -> Provider:
    """The provider of a config; its calls share `clients`' SDK client (and connections) with
    every other config that calls the same address with the same key."""
    if config.provider == "anthropic":
        from app.annotators.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider(config, clients)
    if config.provider in ("openai", "openai_compatible"):
        from app.annotators.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(config, clients)
    raise ValueError(f"provider {config.provider!r} makes no network calls")
