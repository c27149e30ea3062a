"""Requests and tokens per minute: a burst of ten seconds' worth passes, then calls wait."""

from __future__ import annotations

import asyncio

import pytest

from app.worker.limits import AnnotatorLimits


def test_requests_beyond_the_per_minute_burst_are_held_back():
    async def scenario() -> None:
        limits = AnnotatorLimits(
            max_concurrency=100, requests_per_minute=60, tokens_per_minute=None
        )
        for _ in range(10):  # ten seconds' worth at one request a second
            await asyncio.wait_for(limits.admit(estimated_tokens=100), timeout=1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(limits.admit(estimated_tokens=100), timeout=0.2)

    asyncio.run(scenario())


def test_a_token_budget_holds_back_large_prompts():
    async def scenario() -> None:
        limits = AnnotatorLimits(
            max_concurrency=100, requests_per_minute=None, tokens_per_minute=6000
        )
        await asyncio.wait_for(limits.admit(estimated_tokens=900), timeout=1)  # of 1,000 at once
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(limits.admit(estimated_tokens=900), timeout=0.2)

    asyncio.run(scenario())


def test_without_limits_nothing_waits():
    async def scenario() -> None:
        limits = AnnotatorLimits(
            max_concurrency=100, requests_per_minute=None, tokens_per_minute=None
        )
        for _ in range(1000):
            await asyncio.wait_for(limits.admit(estimated_tokens=10_000), timeout=1)

    asyncio.run(scenario())
