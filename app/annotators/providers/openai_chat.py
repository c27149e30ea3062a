"""OpenAI chat completions, and OpenAI-compatible servers (vLLM, Ollama, llama.cpp) by base_url.

Requests go through the worker's shared HTTP clients (app.annotators.providers.http) and the
JSON answer is read directly: far less CPU per call than an SDK's request layers and typed
models when hundreds of calls are in flight.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import orjson

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import PREFERENCE_TOOL
from app.annotators.providers.base import (
    TOP_LOGPROBS,
    LlmRequest,
    LlmResponse,
    ProviderError,
)
from app.annotators.providers.http import HttpClients, post_json

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIChatProvider:
    def __init__(self, config: AnnotatorConfig, clients: HttpClients) -> None:
        key_env = config.api_key_env or ("OPENAI_API_KEY" if config.provider == "openai" else None)
        api_key = os.environ.get(key_env) if key_env else "not-needed"
        if not api_key:
            raise ProviderError(f"{key_env} is not set in the environment", transient=False)
        self._compatible = config.provider == "openai_compatible"
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        for header, variable in (
            ("OpenAI-Organization", "OPENAI_ORG_ID"),
            ("OpenAI-Project", "OPENAI_PROJECT_ID"),
        ):
            if config.provider == "openai" and os.environ.get(variable):
                self._headers[header] = os.environ[variable]
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._clients = clients

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
        return await post_json(
            self._clients,
            self._url,
            self._headers,
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
