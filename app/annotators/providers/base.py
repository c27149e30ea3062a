"""What every provider takes and returns, and the two kinds of failure the worker tells apart."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from app.annotators.prompts import Messages

Mode = Literal["text", "json", "tool", "logprob"]
TOP_LOGPROBS = 5


class ProviderError(Exception):
    """A failed call. `transient` ones (429, 5xx, timeouts) are retried with backoff."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None):
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class LlmRequest:
    messages: Messages
    model: str
    temperature: float
    max_tokens: int
    mode: Mode

    def cache_payload(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "mode": self.mode,
            "system": self.messages.system,
            "user": self.messages.user,
        }


@dataclass(frozen=True)
class LlmResponse:
    text: str
    prompt_tokens: int
    completion_tokens: int
    tool_arguments: dict[str, Any] | None = None
    top_logprobs: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tool_arguments": self.tool_arguments,
            "top_logprobs": self.top_logprobs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LlmResponse:
        return cls(**data)


class Provider(Protocol):
    async def complete(self, request: LlmRequest) -> LlmResponse: ...


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def status_error(status: int, headers: Any, message: str) -> ProviderError:
    transient = status in (408, 409, 429) or status >= 500
    retry_after = parse_retry_after(headers) if transient else None
    return ProviderError(
        f"HTTP {status}: {message[:500]}", transient=transient, retry_after=retry_after
    )
