"""Fixtures of the client tests: the client pointed at the real app over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prefarm_client import PrefarmClient


@pytest.fixture
def prefarm(live_url: str, researcher) -> Iterator[PrefarmClient]:
    with PrefarmClient(live_url, researcher.token) as client:
        yield client


def make_rows(count: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{n}",
            "instruction": f"Give the number {n} in words.",
            "output_1": f"{n}",
            "output_2": f"The number is {n}, written out in words.",
            "generator_1": "terse",
            "generator_2": "wordy",
        }
        for n in range(count)
    ]


@pytest.fixture
def rows() -> Any:
    return make_rows


@pytest.fixture
def unused_url() -> str:
    """A loopback URL on which nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
