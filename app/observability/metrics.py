"""Prometheus metrics of prefarm.

Scope: counters and histograms (HTTP requests, provider calls) live in the process that records
them. With `PROMETHEUS_MULTIPROC_DIR` set (an empty folder shared by the processes of one
machine, e.g. `prefarm serve --workers 4` and `prefarm worker`), every process writes its
values there and `/metrics` reports their sum. Gauges that describe the whole system (queue
depth, judgments stored) are counted in the database at scrape time, so they are the same
whichever process answers.

Other modules record provider calls with `record_provider_call(...)`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from app.db.models import Annotation, Annotator, Task
from app.db.session import read_connection

# Label values come from what users name (registered configs, models): past this many distinct
# values, a metric reports the rest as `other`, so no user input makes series without bound.
MAX_LABEL_VALUES = 50
OTHER = "other"
IMPORTED = "imported"  # simulated judgments posted through the API, whatever their annotator

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "prefarm_http_requests",
    "HTTP requests answered, by route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "prefarm_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
PROVIDER_REQUESTS = Counter(
    "prefarm_provider_requests",
    "Calls to LLM providers, by outcome (ok, error).",
    ["provider", "model", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "prefarm_provider_request_duration_seconds",
    "Latency of LLM provider calls.",
    ["provider", "model"],
    buckets=_LATENCY_BUCKETS,
)
PROVIDER_COST = Counter(
    "prefarm_provider_cost_usd", "Money spent on LLM provider calls, in USD.", ["provider", "model"]
)
PROVIDER_TOKENS = Counter(
    "prefarm_provider_tokens",
    "Tokens used by LLM provider calls (kind: prompt, completion).",
    ["provider", "model", "kind"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


class BoundedLabel:
    """The first `limit` distinct values of a label as they are, every later one as `other`."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


_provider_models = BoundedLabel()


def record_provider_call(
    provider: str,
    model: str,
    seconds: float,
    *,
    ok: bool = True,
    cost_usd: float | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> None:
    """The hook for provider clients: one call, its latency, and what it cost."""
    model = _provider_models(model)
    PROVIDER_REQUESTS.labels(provider, model, "ok" if ok else "error").inc()
    PROVIDER_LATENCY.labels(provider, model).observe(seconds)
    if cost_usd:
        PROVIDER_COST.labels(provider, model).inc(cost_usd)
    if prompt_tokens:
        PROVIDER_TOKENS.labels(provider, model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        PROVIDER_TOKENS.labels(provider, model, "completion").inc(completion_tokens)


class DatabaseCollector(Collector):
    """Queue depth and stored judgments, counted in the database (cached a few seconds)."""

    def __init__(self, engine: Engine, cache_seconds: float) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.cache_seconds:
                self._cached = (now, self._count())
            yield from self._cached[1]

    def _count(self) -> list[Metric]:
        tasks = GaugeMetricFamily(
            "prefarm_tasks",
            "Simulated-annotation tasks by status (queue depth).",
            labels=["status"],
        )
        judgments = GaugeMetricFamily(
            "prefarm_judgments",
            "Judgments stored, by registered simulated annotator (at most "
            f"{MAX_LABEL_VALUES}, the rest as `{OTHER}`); imported ones together as "
            f"`{IMPORTED}`, human raters together as `humans`.",
            labels=["annotator", "kind"],
        )
        with read_connection(self.engine) as connection:
            task_counts = dict(
                connection.execute(select(Task.status, func.count()).group_by(Task.status)).all()
            )
            per_annotator = connection.execute(
                select(Annotation.annotator_id, func.count()).group_by(Annotation.annotator_id)
            ).all()
            simulated = {
                row.id: (row.name if row.config is not None else IMPORTED)
                for row in connection.execute(
                    select(Annotator.id, Annotator.name, Annotator.config).where(
                        Annotator.kind == "simulated"
                    )
                )
            }
        for status in ("queued", "running", "done", "failed"):
            tasks.add_metric([status], task_counts.get(status, 0))
        by_name: dict[str, int] = {}
        humans = 0
        for annotator_id, count in per_annotator:
            name = simulated.get(annotator_id)
            if name is None:
                humans += count
            else:
                by_name[name] = by_name.get(name, 0) + count
        totals: dict[tuple[str, str], int] = {}
        ranked = sorted(by_name.items(), key=lambda item: (-item[1], item[0]))
        for rank, (name, count) in enumerate(ranked):
            label = name if rank < MAX_LABEL_VALUES or name == IMPORTED else OTHER
            totals[(label, "simulated")] = totals.get((label, "simulated"), 0) + count
        if humans:
            totals[("humans", "human")] = humans
        for (name, kind), count in sorted(totals.items()):
            judgments.add_metric([name, kind], count)
        return [tasks, judgments]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(database: CollectorRegistry) -> bytes:
    """The text exposition: this process's (or all processes') metrics, then the database's."""
    if multiprocess_dir():
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged) + generate_latest(database)
    return generate_latest(REGISTRY) + generate_latest(database)


def database_registry(engine: Engine, cache_seconds: float) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, cache_seconds))
    return registry
