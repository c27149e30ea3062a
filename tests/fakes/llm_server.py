"""A fake LLM provider: a real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions
API (text, JSON mode, logprobs, tool calls) and the Anthropic messages API (text, tool use).

The workers' providers reach it through `base_url` (or `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL`).
It judges the comparisons in the prompts it receives with a scripted judge, waits `latency`
seconds per request, and can inject faults: 429 with Retry-After, 500, or hanging past the
client's timeout. It records each request's client address (one per connection).

Run alone (for benchmarks): `python -m tests.fakes.llm_server --latency 0.2` prints its URL.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

# The shipped prompts show each comparison's responses as <response label="A">...</response>.
_COMPARISON = re.compile(r'<comparison number="\d+">(.*?)</comparison>', re.S)
_RESPONSE = re.compile(r'<response label="([AB])">\n?(.*?)\n?</response>', re.S)


@dataclass(frozen=True)
class Shown:
    """One comparison as the judge saw it."""

    a: str
    b: str


def marker_judge(marker: str = "[better]") -> Callable[[Shown], float]:
    """P(A is better): 0.9 for the response holding `marker`, else the longer one at 0.7."""

    def judge(shown: Shown) -> float:
        if (marker in shown.a) != (marker in shown.b):
            return 0.9 if marker in shown.a else 0.1
        if len(shown.a) == len(shown.b):
            return 0.5
        return 0.7 if len(shown.a) > len(shown.b) else 0.3

    return judge


def comparisons_in(prompt: str) -> list[Shown]:
    blocks = _COMPARISON.findall(prompt) or [prompt]
    shown = []
    for block in blocks:
        responses = dict(_RESPONSE.findall(block))
        if "A" in responses and "B" in responses:
            shown.append(Shown(responses["A"], responses["B"]))
    return shown


@dataclass
class Fault:
    kind: str  # "429", "500" or "timeout"
    retry_after: float | None = None


@dataclass
class Request:
    api: str  # "openai" or "anthropic"
    body: dict[str, Any]
    prompt: str
    at: float
    peer: tuple[str, int] | None = None  # the client's address: one per connection


@dataclass
class FakeLLM:
    latency: float = 0.0
    judge: Callable[[Shown], float] = field(default_factory=marker_judge)
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("429", "500")
    retry_after: float | None = 0.0
    hang_seconds: float = 30.0
    seed: int = 0
    record: bool = True
    # Answer text to send instead of the judge's (called with the prompt; None = judge normally).
    script: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        self.requests: list[Request] = []
        self.statuses: Counter[int] = Counter()
        # (prompt tokens, completion tokens) of every answered request: what a provider bills.
        self.billed: list[tuple[int, int]] = []
        self._faults: deque[Fault] = deque()
        self._random = random.Random(self.seed)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    # -- control ----------------------------------------------------------------------------

    def fail_next(self, count: int, kind: str = "429", retry_after: float | None = 0.0) -> None:
        self._faults.extend(Fault(kind, retry_after) for _ in range(count))

    def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            interface="asgi3",
            log_level="warning",
            lifespan="off",
            access_log=False,
            backlog=4096,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=120,  # as hosted APIs do; clients reuse connections
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(timeout=10)

    # -- the HTTP side ----------------------------------------------------------------------

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if scope["method"] != "POST" or not (
            path.endswith("/chat/completions") or path.endswith("/messages")
        ):
            await _respond(send, 404, {"error": {"message": f"no route {path}"}})
            return
        api = "openai" if path.endswith("/chat/completions") else "anthropic"
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._handle(api, orjson.loads(body), send, scope.get("client"))
        finally:
            self.in_flight -= 1

    async def _handle(self, api: str, request: dict[str, Any], send: Any, peer: Any = None) -> None:
        prompt = _prompt_text(api, request)
        if self.record:
            client = (str(peer[0]), int(peer[1])) if peer else None
            self.requests.append(Request(api, request, prompt, time.time(), client))
        fault = self._next_fault()
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            if fault.kind == "timeout":
                await asyncio.sleep(self.hang_seconds)
                return
            status = int(fault.kind)
            headers = {}
            if status == 429 and fault.retry_after is not None:
                headers["retry-after"] = f"{fault.retry_after:g}"
            self.statuses[status] += 1
            kind = "rate_limit_error" if status == 429 else "server_error"
            await _respond(
                send, status, {"error": {"message": f"injected {status}", "type": kind}}, headers
            )
            return
        self.statuses[200] += 1
        answer = _answer(api, request, prompt, self.judge, self.script)
        usage = answer["usage"]
        self.billed.append(
            (usage.get("prompt_tokens", usage.get("input_tokens", 0)),
             usage.get("completion_tokens", usage.get("output_tokens", 0)))
        )  # fmt: skip
        await _respond(send, 200, answer)

    def _next_fault(self) -> Fault | None:
        if self._faults:
            return self._faults.popleft()
        if self.fault_rate and self._random.random() < self.fault_rate:
            return Fault(self._random.choice(self.fault_kinds), self.retry_after)
        return None


async def _respond(
    send: Any, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = orjson.dumps(payload)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


def _prompt_text(api: str, request: dict[str, Any]) -> str:
    parts = [request.get("system", "")] if api == "anthropic" else []
    for message in request.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content)
        parts.append(content)
    return "\n".join(p for p in parts if isinstance(p, str))


def _verdict_text(request: dict[str, Any], prompt: str, probabilities: list[float]) -> str:
    letters = ["A" if p >= 0.5 else "B" for p in probabilities]
    if len(probabilities) > 1 or '<comparison number="' in prompt:
        return "\n".join(f"{i}: {letter}" for i, letter in enumerate(letters, start=1))
    wants_json = "JSON" in prompt or request.get("response_format", {}).get("type") == "json_object"
    if wants_json:
        return orjson.dumps(
            {"reason": "It answers the instruction better.", "preferred": letters[0]}
        ).decode()
    return letters[0] if letters else "?"


def _answer(
    api: str,
    request: dict[str, Any],
    prompt: str,
    judge: Callable[[Shown], float],
    script: Callable[[str], str | None] | None,
) -> dict[str, Any]:
    probabilities = [judge(shown) for shown in comparisons_in(prompt)]
    scripted = script(prompt) if script else None
    text = scripted if scripted is not None else _verdict_text(request, prompt, probabilities)
    letter = "A" if probabilities and probabilities[0] >= 0.5 else "B"
    tool_input = {"reason": "It follows the instruction more closely.", "preferred": letter}
    prompt_tokens = max(1, len(prompt) // 4)
    completion_tokens = max(1, len(text) // 4)
    wants_tool = bool(request.get("tools"))
    if api == "anthropic":
        content: list[dict[str, Any]]
        if wants_tool and scripted is None:
            tool = request["tools"][0]["name"]
            content = [{"type": "tool_use", "id": "toolu_fake", "name": tool, "input": tool_input}]
        else:
            content = [{"type": "text", "text": text}]
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "fake"),
            "content": content,
            "stop_reason": "tool_use" if wants_tool else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
        }
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if wants_tool and scripted is None:
        name = request["tools"][0]["function"]["name"]
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": "call_fake",
                "type": "function",
                "function": {"name": name, "arguments": orjson.dumps(tool_input).decode()},
            }
        ]
    logprobs = None
    if request.get("logprobs"):
        p_a = min(max(probabilities[0] if probabilities else 0.5, 1e-6), 1 - 1e-6)
        alternatives = [("A", math.log(p_a)), ("B", math.log(1 - p_a)), ("The", math.log(1e-7))]
        alternatives.sort(key=lambda alt: -alt[1])
        top = [
            {"token": t, "logprob": lp, "bytes": list(t.encode())}
            for t, lp in alternatives[: request.get("top_logprobs") or 1]
        ]
        first = top[0]
        message["content"] = first["token"] if scripted is None else text
        logprobs = {"content": [{**first, "top_logprobs": top}], "refusal": None}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": logprobs,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeLLM(latency=args.latency, fault_rate=args.fault_rate, record=False)
    print(fake.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
