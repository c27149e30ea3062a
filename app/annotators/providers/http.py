"""The providers' HTTP side: one pooled aiohttp client per provider address, shared by every
config that calls it, and one POST that turns every way a call can fail into a ProviderError.

The official SDKs are not used for the request path: building a request through their layers
cost more CPU per call than the rest of a judgment (docs/performance.md). What they did for
us is done here: the API key header, the base URL (a config's `base_url`, else
`OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL`, else the provider's own), the timeout, no retries
(the worker retries, with backoff shared across processes) and no redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import orjson

from app.annotators.providers.base import LlmResponse, ProviderError, status_error


class HttpClients:
    """aiohttp sessions by origin (scheme, host, port), made on first use inside the running
    event loop. Connections are kept alive and reused across calls and configs; the worker
    closes them all when it stops.

    The proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as the SDKs honoured them) is looked up once
    per origin: aiohttp's own `trust_env` reads the environment and ~/.netrc on every request."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[aiohttp.ClientSession, str | None]] = {}

    def session(self, url: str) -> tuple[aiohttp.ClientSession, str | None]:
        """The origin's session and the proxy to reach it through (None: direct)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        known = self._sessions.get(origin)
        if known is None or known[0].closed:
            session = aiohttp.ClientSession(
                # Idle connections are dropped after 4 s, before servers that keep them for
                # 5 s (uvicorn's default: vLLM and most gateways) close them under a request.
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4.0),
                auto_decompress=True,
            )
            bypass = parts.hostname is None or proxy_bypass(parts.hostname)
            proxy = None if bypass else getproxies().get(parts.scheme)
            known = self._sessions[origin] = (session, proxy)
        return known

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session, _ in sessions:
            await session.close()


def _error_message(payload: bytes) -> str:
    """The provider's own error text where the body has one (both APIs use error.message)."""
    try:
        data = orjson.loads(payload)
        message = data["error"]["message"]
        if isinstance(message, str):
            return message
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    return payload.decode("utf-8", "replace")


async def post_json(
    clients: HttpClients,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    timeout: aiohttp.ClientTimeout,
    read: Callable[[dict[str, Any]], LlmResponse],
) -> LlmResponse:
    """POST `body` as JSON and read the answer with `read`. Transient failures (408, 409, 429,
    5xx, timeouts, dropped connections, malformed answers) raise transient ProviderErrors."""
    session, proxy = clients.session(url)
    try:
        async with session.post(
            url,
            data=orjson.dumps(body),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            proxy=proxy,
        ) as response:
            payload = await response.read()
            status, response_headers = response.status, response.headers
    except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
        raise ProviderError(
            f"timed out after {timeout.total:g} s: {exc!r}", transient=True
        ) from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(f"connection failed: {exc!r}", transient=True) from exc
    if status >= 300:
        raise status_error(status, response_headers, _error_message(payload))
    try:
        return read(orjson.loads(payload))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ProviderError(f"malformed response: {exc!r}", transient=True) from exc
