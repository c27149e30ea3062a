"""The official SDK clients a worker's providers call through: one per provider, address and
API key, shared by every config that calls it, so their calls share kept-alive connections.

Each client is the SDK's own (auth, base URL from the config or `OPENAI_BASE_URL` /
`ANTHROPIC_BASE_URL`, proxies) over its aiohttp transport, with the SDK's retries off: the
worker retries, with backoff shared across processes. The worker closes them all when it stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import anthropic
    import openai


class ProviderClients:
    def __init__(self) -> None:
        self._clients: dict[tuple[str, str | None, str], Any] = {}

    def openai(self, api_key: str, base_url: str | None) -> openai.AsyncOpenAI:
        import openai

        key = ("openai", base_url, api_key)
        if key not in self._clients:
            self._clients[key] = openai.AsyncOpenAI(
                api_key=api_key,
                base_url=base_url,
                max_retries=0,
                http_client=openai.DefaultAioHttpClient(),
            )
        client: openai.AsyncOpenAI = self._clients[key]
        return client

    def anthropic(self, api_key: str, base_url: str | None) -> anthropic.AsyncAnthropic:
        import anthropic

        key = ("anthropic", base_url, api_key)
        if key not in self._clients:
            self._clients[key] = anthropic.AsyncAnthropic(
                api_key=api_key,
                base_url=base_url,
                max_retries=0,
                http_client=anthropic.DefaultAioHttpClient(),
            )
        client: anthropic.AsyncAnthropic = self._clients[key]
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
