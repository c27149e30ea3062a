"""OpenAI chat completions, and OpenAI-compatible servers (vLLM, Ollama, llama.cpp) by base_url.

The SDK sends the request (auth, base URL, error types) over the worker's shared client for the
address (app.annotators.providers.clients); the JSON answer is read directly, which costs far
less CPU per call than the SDK's typed models when hundreds of calls are in flight.
"""

from __future__ import annotations

import os
from typing import Any

import openai
import orjson

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import PREFERENCE_TOOL
from app.annotators.providers.base import (
    TOP_LOGPROBS,
    LlmRequest,
    LlmResponse,
    ProviderError,
    call_sdk,
)
from app.annotators.providers.clients import ProviderClients


class OpenAIChatProvider:
    def __init__(self, config: AnnotatorConfig, clients: ProviderClients) -> None:
        key_env = config.api_key_env or ("OPENAI_API_KEY" if config.provider == "openai" else None)
        api_key = os.environ.get(key_env) if key_env else "not-needed"
        if not api_key:
            raise ProviderError(f"{key_env} is not set in the environment", transient=False)
        self._compatible = config.provider == "openai_compatible"
        self._client = clients.openai(api_key, config.base_url or None)
        self._timeout = config.timeout_s

    def body(self, request: LlmRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages.as_openai(),
            "temperature": request.temperature,
        }
        body["max_tokens" if self._compatible else "max_completion_tokens"] = request.max_tokens
        if request.mode == "logprob":
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        elif request.mode == "json":
            body["response_format"] = {"type": "json_object"}
        elif request.mode == "tool":
            body["tools"] = [{"type": "function", "function": PREFERENCE_TOOL}]
            body["tool_choice"] = {
                "type": "function",
                "function": {"name": PREFERENCE_TOOL["name"]},
            }
        return body

    async def complete(self, request: LlmRequest) -> LlmResponse:
        return await call_sdk(
            openai,
            self._client,
            "/chat/completions",
            self.body(request),
            self._timeout,
            read_completion,
        )


def read_completion(data: dict[str, Any]) -> LlmResponse:
    choice = data["choices"][0]
    message = choice["message"]
    text = message.get("content") or ""
    tool_arguments = None
    if message.get("tool_calls"):
        raw_arguments = message["tool_calls"][0].get("function", {}).get("arguments") or ""
        text = text or raw_arguments
        try:
            tool_arguments = orjson.loads(raw_arguments) if raw_arguments else None
        except orjson.JSONDecodeError:
            tool_arguments = None  # kept as raw text; the tool parser reports it
    top_logprobs = None
    tokens = (choice.get("logprobs") or {}).get("content") or []
    if tokens:
        first = tokens[0]
        top_logprobs = {alt["token"]: alt["logprob"] for alt in first.get("top_logprobs") or []}
        top_logprobs.setdefault(first["token"], first["logprob"])
    usage = data.get("usage") or {}
    return LlmResponse(
        text=text,
        prompt_tokens=usage.get("prompt_tokens") or 0,
        completion_tokens=usage.get("completion_tokens") or 0,
        tool_arguments=tool_arguments if isinstance(tool_arguments, dict) else None,
        top_logprobs=top_logprobs,
    )
