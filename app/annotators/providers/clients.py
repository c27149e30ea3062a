"""The official SDK clients a worker's providers call through: one per provider, address and
API key, shared by every config that calls it, so their calls share kept-alive connections.

Each client is the SDK's own (auth, base URL from the config or `OPENAI_BASE_URL` /
`ANTHROPIC_BASE_URL`, proxies) over its aiohttp transport, with the SDK's retries off: the
worker retries, with backoff shared across processes. The worker closes them all when it stops.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import anthropic
    import openai


class ProviderClients:
    def __init__(self) -> None:
        self._clients: dict[tuple[str, str | None, str], Any] = {}

    def openai(self, api_key: str, base_url: str | None) -> openai.AsyncOpenAI:
        import openai

        client: openai.AsyncOpenAI = self._shared(openai, "AsyncOpenAI", api_key, base_url)
        return client

    def anthropic(self, api_key: str, base_url: str | None) -> anthropic.AsyncAnthropic:
        import anthropic

        client: anthropic.AsyncAnthropic = self._shared(
            anthropic, "AsyncAnthropic", api_key, base_url
        )
        return client

    def _shared(
        self, sdk: ModuleType, client_class: str, api_key: str, base_url: str | None
    ) -> Any:
        """The SDK's client for this address and key, made on first use (both SDKs take the
        same arguments and offer the same aiohttp transport)."""
        key = (sdk.__name__, base_url, api_key)
        if key not in self._clients:
            self._clients[key] = getattr(sdk, client_class)(
                api_key=api_key,
                base_url=base_url,
                max_retries=0,
                http_client=sdk.DefaultAioHttpClient(),
            )
        return self._clients[key]

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
