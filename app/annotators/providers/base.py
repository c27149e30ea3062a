"""What every provider takes and returns, and the two kinds of failure the worker tells apart."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, Protocol

import httpx2
import orjson

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


def _provider_message(body: object) -> str | None:
    """The provider's own error text (`error.message` in both APIs), when the body has one."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None


async def call_sdk(
    sdk: ModuleType,
    client: Any,
    path: str,
    body: dict[str, Any],
    timeout: float,
    read: Callable[[dict[str, Any]], LlmResponse],
) -> LlmResponse:
    """POST `body` through an official SDK client (its auth, base URL and connections) within
    `timeout` seconds and read the JSON answer with `read`. The OpenAI and Anthropic SDKs raise
    errors of the same names; they become ProviderErrors here, transient or not."""
    try:
        response = await client.post(
            path, cast_to=httpx2.Response, body=body, options={"timeout": timeout}
        )
    except sdk.APIStatusError as exc:
        message = _provider_message(exc.body) or exc.message
        raise status_error(exc.status_code, exc.response.headers, message) from exc
    except sdk.APITimeoutError as exc:
        raise ProviderError(
            f"timed out or disconnected: {exc.__cause__!r}", transient=True
        ) from exc
    except sdk.APIConnectionError as exc:
        raise ProviderError(f"connection failed: {exc}", transient=True) from exc
    try:
        return read(orjson.loads(response.content))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ProviderError(f"malformed response: {exc!r}", transient=True) from exc
