"""Anthropic messages API (plain text, or a forced tool call for structured verdicts).

As for OpenAI, requests go through the worker's shared HTTP clients and the JSON is read
directly. This API version takes no sampling parameters, so `temperature` is not sent.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import orjson

from app.annotators.config import AnnotatorConfig
from app.annotators.parsers import PREFERENCE_TOOL
from app.annotators.providers.base import LlmRequest, LlmResponse, ProviderError
from app.annotators.providers.http import HttpClients, post_json

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicProvider:
    def __init__(self, config: AnnotatorConfig, clients: HttpClients) -> None:
        key_env = config.api_key_env or "ANTHROPIC_API_KEY"
        api_key = os.environ.get(key_env)
        if not api_key:
            raise ProviderError(f"{key_env} is not set in the environment", transient=False)
        base_url = config.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._headers = {
            "x-api-key": api_key,
            "anthropic-version": API_VERSION,
            "Content-Type": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._clients = clients

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
        return await post_json(
            self._clients, self._url, self._headers, self.body(request), self._timeout, read_message
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
