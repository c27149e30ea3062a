"""LLM providers behind one interface: `make_provider(config).complete(request)`."""

from __future__ import annotations

from app.annotators.config import AnnotatorConfig
from app.annotators.providers.base import (
    LlmRequest,
    LlmResponse,
    Mode,
    Provider,
    ProviderError,
)

__all__ = [
    "LlmRequest",
    "LlmResponse",
    "Mode",
    "Provider",
    "ProviderError",
    "load_provider_sdks",
    "make_provider",
]


def load_provider_sdks() -> None:
    """Import the SDKs (slow: seconds) before the first call needs them."""
    import app.annotators.providers.anthropic_messages
    import app.annotators.providers.openai_chat  # noqa: F401


def make_provider(config: AnnotatorConfig) -> Provider:
    if config.provider == "anthropic":
        from app.annotators.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider(config)
    if config.provider in ("openai", "openai_compatible"):
        from app.annotators.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(config)
    raise ValueError(f"provider {config.provider!r} makes no network calls")
