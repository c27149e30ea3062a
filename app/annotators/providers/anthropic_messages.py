"""Anthropic messages API (plain text, or a forced tool call for structured verdicts).

As for OpenAI, the SDK sends the request over the worker's shared client for the address and
the JSON is read directly. This API version takes no sampling parameters, so `temperature` is
not sent.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic
import orjson

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import PREFERENCE_TOOL
from app.annotators.providers.base import LlmRequest, LlmResponse, ProviderError, call_sdk
from app.annotators.providers.clients import ProviderClients


class AnthropicProvider:
    def __init__(self, config: AnnotatorConfig, clients: ProviderClients) -> None:
        key_env = config.api_key_env or "ANTHROPIC_API_KEY"
        api_key = os.environ.get(key_env)
        if not api_key:
            raise ProviderError(f"{key_env} is not set in the environment", transient=False)
        self._client = clients.anthropic(api_key, config.base_url or None)
        self._timeout = config.timeout_s

    @staticmethod
    def body(request: LlmRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "system": request.messages.system,
            "messages": [{"role": "user", "content": request.messages.user}],
            "max_tokens": request.max_tokens,
        }
        if request.mode == "tool":
            body["tools"] = [
                {
                    "name": PREFERENCE_TOOL["name"],
                    "description": PREFERENCE_TOOL["description"],
                    "input_schema": PREFERENCE_TOOL["parameters"],
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": PREFERENCE_TOOL["name"]}
        return body

    async def complete(self, request: LlmRequest) -> LlmResponse:
        return await call_sdk(
            anthropic, self._client, "/v1/messages", self.body(request), self._timeout, read_message
        )


def read_message(data: dict[str, Any]) -> LlmResponse:
    texts: list[str] = []
    tool_arguments = None
    for block in data.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use" and tool_arguments is None:
            tool_arguments = block.get("input") if isinstance(block.get("input"), dict) else None
    text = "".join(texts)
    if not text and tool_arguments is not None:
        text = orjson.dumps(tool_arguments).decode()  # keep the raw answer readable
    usage = data.get("usage") or {}
    return LlmResponse(
        text=text,
        prompt_tokens=usage.get("input_tokens") or 0,
        completion_tokens=usage.get("output_tokens") or 0,
        tool_arguments=tool_arguments,
    )
