"""Per-annotator request and token budgets per minute (token buckets), per worker process."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """Allows `per_minute` units a minute, in bursts of at most ten seconds' worth."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 10)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(amount, self.capacity)
        async with self._lock:  # first come, first served
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= amount:
                    self.tokens -= amount
                    return
                await asyncio.sleep((amount - self.tokens) / self.rate)


class AnnotatorLimits:
    """Concurrency, requests per minute and tokens per minute of one annotator."""

    def __init__(
        self, max_concurrency: int, requests_per_minute: int | None, tokens_per_minute: int | None
    ) -> None:
        self.slots = asyncio.Semaphore(max_concurrency)
        self.requests = RateLimiter(requests_per_minute) if requests_per_minute else None
        self.tokens = RateLimiter(tokens_per_minute) if tokens_per_minute else None

    async def admit(self, estimated_tokens: int) -> None:
        if self.requests:
            await self.requests.acquire(1)
        if self.tokens:
            await self.tokens.acquire(estimated_tokens)
