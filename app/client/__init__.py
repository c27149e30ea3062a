"""The Python client of the prefarm API (used by the CLI too).

from app.client import PrefarmClient
with PrefarmClient() as prefarm:  # PREFARM_URL, PREFARM_TOKEN
    job = prefarm.create_job("my eval", annotators=["longest"])
    prefarm.submit_file(job["id"], "pairs.jsonl")
    prefarm.wait(job["id"])
"""

from app.client.client import PrefarmClient, PrefarmError, Progress, SubmitResult
from app.client.files import ComparisonFile, ComparisonFileError, read_comparisons

__all__ = [
    "ComparisonFile",
    "ComparisonFileError",
    "PrefarmClient",
    "PrefarmError",
    "Progress",
    "SubmitResult",
    "read_comparisons",
]
