"""The Python client of a prefarm server, over HTTP only.

from prefarm_client import PrefarmClient
with PrefarmClient() as prefarm:  # PREFARM_URL, PREFARM_TOKEN
    job = prefarm.create_job("my eval", annotators=["longest"])
    prefarm.submit_file(job["id"], "pairs.jsonl")
    prefarm.wait(job["id"])
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefarm_client.client import PrefarmClient, PrefarmError, Progress, SubmitResult
    from prefarm_client.files import ComparisonFile, ComparisonFileError, read_comparisons

__version__ = "0.1.0"

# Imported on first use, so that `prefarm --help` and other commands that send no request do not
# load httpx.
_LAZY = {
    "PrefarmClient": "prefarm_client.client",
    "PrefarmError": "prefarm_client.client",
    "Progress": "prefarm_client.client",
    "SubmitResult": "prefarm_client.client",
    "ComparisonFile": "prefarm_client.files",
    "ComparisonFileError": "prefarm_client.files",
    "read_comparisons": "prefarm_client.files",
}

__all__ = [
    "ComparisonFile",
    "ComparisonFileError",
    "PrefarmClient",
    "PrefarmError",
    "Progress",
    "SubmitResult",
    "read_comparisons",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'prefarm_client' has no attribute {name!r}")
