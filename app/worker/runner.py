"""The worker loop: claim tasks, call providers under per-annotator limits, write results.

One asyncio loop per process. Database work runs in threads; results are written in small
batches by one writer, fenced by the lease (see app.worker.store). Leases of everything held are
renewed by a heartbeat; a stop request (SIGTERM) stops claiming, lets running calls finish within
a grace period, and puts the rest back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from app.annotators.builtin import builtin_preference
from app.annotators.config import AnnotatorConfig, ConfigError, PoolConfig, parse_config
from app.annotators.parsers import BatchCountMismatch
from app.annotators.providers import Provider, ProviderError, load_providers, make_provider
from app.annotators.providers.base import LlmResponse
from app.annotators.providers.clients import ProviderClients
from app.annotators.sandbox import TemplateLimits
from app.annotators.seeding import noisy_preference
from app.config import Settings
from app.db.dialect import is_unavailable
from app.observability.metrics import record_provider_call
from app.worker import heartbeat as heartbeats
from app.worker import store
from app.worker.limits import AnnotatorLimits
from app.worker.store import Claim, ClaimedTask, JobState, Outcome, utcnow
from app.worker.units import Call, Unit, annotation_rows, direct_annotation, plan_calls, price
from app.worker.webhooks import WebhookOptions, deliver_due

log = logging.getLogger("prefarm.worker")
# Results are written in batches: when `concurrency` of them wait, when every task held has
# its result, or FLUSH_SECONDS after the first one, whichever comes first. Every write costs
# about ten statements whatever its size, so fewer, larger writes cost less per judgment.
FLUSH_SECONDS = 0.2
MAX_CLAIM_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 64
    claim_batch: int = 64
    lease_seconds: float = 60.0
    poll_seconds: float = 0.5
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    shutdown_grace_seconds: float = 30.0
    summary_seconds: float = 60.0
    template_limits: TemplateLimits = field(default_factory=TemplateLimits)
    webhooks: WebhookOptions = field(default_factory=WebhookOptions)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WorkerOptions:
        values: dict[str, Any] = {
            "concurrency": settings.worker_concurrency,
            "claim_batch": settings.worker_claim_batch,
            "lease_seconds": settings.worker_lease_seconds,
            "poll_seconds": settings.worker_poll_seconds,
            "retry_base_seconds": settings.worker_retry_base_seconds,
            "retry_max_seconds": settings.worker_retry_max_seconds,
            "shutdown_grace_seconds": settings.worker_shutdown_grace_seconds,
            "summary_seconds": settings.worker_log_summary_seconds,
            "template_limits": TemplateLimits.of(settings),
            "webhooks": WebhookOptions(
                timeout_seconds=settings.webhook_timeout_seconds,
                max_attempts=settings.webhook_max_attempts,
                retry_base_seconds=settings.webhook_retry_base_seconds,
                retry_max_seconds=settings.webhook_retry_max_seconds,
                allow_private=settings.webhook_allow_private,
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Worker:
    def __init__(self, engine: Engine, options: WorkerOptions, worker_id: str | None = None):
        self.engine = engine
        self.options = options
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: dict[int, ClaimedTask] = {}
        self.jobs: dict[int, JobState] = {}
        self.completed = 0
        self.tally = Tally()  # since the last summary line
        self.total = Tally()
        self._configs: dict[str, AnnotatorConfig | PoolConfig] = {}
        self._providers: dict[str, Provider] = {}
        self._provider_clients = ProviderClients()  # one SDK client per provider address and key
        self._webhook_client: httpx.AsyncClient | None = None  # made when first needed
        self._limits: dict[str, AnnotatorLimits] = {}
        self._units: set[asyncio.Task[None]] = set()
        self._outcomes: list[Outcome] = []
        self._cache_rows: list[dict[str, Any]] = []
        self._flush_wanted = asyncio.Event()
        self._write_now = asyncio.Event()
        self._unwritten = 0  # tasks held only until their result is written
        self._capacity_freed = asyncio.Event()
        self._closing = False

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> None:
        """Work until `stop` is set, or (until_idle) until nothing is left to claim or running."""
        stop = stop or asyncio.Event()
        self._call_slots = asyncio.Semaphore(self.options.concurrency)
        await self._beat()
        await asyncio.to_thread(load_providers)  # imports, off the event loop
        writer = asyncio.create_task(self._writer())
        heartbeat = asyncio.create_task(self._heartbeat())
        summaries = asyncio.create_task(self._summaries())
        # With until_idle, due calls are sent once the tasks are done (below) instead.
        webhooks = asyncio.create_task(self._webhooks(stop)) if not until_idle else None
        log.info("worker %s started (concurrency %d)", self.id, self.options.concurrency)
        failed_claims = 0
        try:
            while not stop.is_set():
                # A task whose result waits for the writer needs no call slot: it does not
                # hold back the next claim (up to twice the usual number of tasks held).
                concurrency = self.options.concurrency
                waiting = len(self.held) - self._unwritten
                room = min(2 * concurrency - waiting, 4 * concurrency - len(self.held))
                wanted = min(room, self.options.claim_batch)
                got = 0
                idle = not self.held  # before claiming: every result so far is committed
                claimed = wanted >= min(self.options.claim_batch, self.options.concurrency)
                if claimed:
                    try:
                        claim = await asyncio.to_thread(
                            store.claim, self.engine, self.id, wanted, self.options.lease_seconds
                        )
                    except Exception as exc:  # e.g. the database is away: wait and try again
                        failed_claims += 1
                        delay = min(
                            self.options.poll_seconds * 2**failed_claims, MAX_CLAIM_RETRY_SECONDS
                        )
                        _log_database_error(exc, f"claiming tasks failed; retrying in {delay:g} s")
                        await _sleep_unless_stopped(stop, delay)
                        continue
                    failed_claims = 0
                    got = len(claim.tasks)
                    if got:
                        await self._accept(claim)
                if until_idle and got == 0 and idle:
                    await self._send_webhooks()  # what finishing the last tasks queued
                    break
                if got < wanted or wanted <= 0:
                    # A claim that came back short found the queue drained (for now): poll,
                    # instead of claiming again as each running call finishes.
                    drained = claimed and got < wanted
                    await self._wait_for_room(stop, drained)
        finally:
            summaries.cancel()
            if webhooks is not None:  # let calls in flight finish: a cancelled one would wait
                stop.set()  # for its lease to lapse before it is sent again
                await asyncio.gather(webhooks, return_exceptions=True)
            await self._shut_down(writer, heartbeat)

    async def _wait_for_room(self, stop: asyncio.Event, drained: bool) -> None:
        self._capacity_freed.clear()
        waiters = [asyncio.create_task(stop.wait())]
        if not drained:
            waiters.append(asyncio.create_task(self._capacity_freed.wait()))
        timeout = (
            self.options.poll_seconds
            if drained or not self.held
            else min(self.options.poll_seconds, 0.1)
        )
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
        for waiter in pending:
            waiter.cancel()

    async def _shut_down(self, writer: asyncio.Task[None], heartbeat: asyncio.Task[None]) -> None:
        if self._units:
            _, running = await asyncio.wait(
                set(self._units), timeout=self.options.shutdown_grace_seconds
            )
            for unit_task in running:
                unit_task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        self._closing = True
        self._flush_wanted.set()
        await writer
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        if self.held:  # anything not written (e.g. the database was away): back to the queue
            try:
                await asyncio.to_thread(
                    store.finish,
                    self.engine,
                    self.id,
                    [Outcome(task, "release") for task in self.held.values()],
                    [],
                )
            except Exception as exc:
                _log_database_error(
                    exc,
                    f"could not give back {len(self.held)} tasks; they return to the queue "
                    "when their lease lapses",
                )
            self.held.clear()
        await self._provider_clients.close()
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
        try:
            await asyncio.to_thread(heartbeats.stopped, self.engine, self.id)
        except Exception:
            log.exception("recording the worker's stop failed")
        log.info(
            "worker %s stopped after %d tasks: %s",
            self.id,
            self.completed,
            self.total.summary(time.monotonic() - self.total.since),
        )

    async def _summaries(self) -> None:
        """One info line every `summary_seconds` while there was work: judgments per second,
        errors and money spent (each provider call is a debug line)."""
        while True:
            await asyncio.sleep(self.options.summary_seconds)
            tally, self.tally = self.tally, Tally()
            if tally.judgments or tally.errors or self.held:
                log.info(
                    "worker %s: %s; %d tasks held",
                    self.id,
                    tally.summary(time.monotonic() - tally.since),
                    len(self.held),
                )

    async def _beat(self) -> None:
        try:
            await asyncio.to_thread(heartbeats.beat, self.engine, self.id)
        except Exception:
            log.exception("writing the worker's heartbeat failed; retrying")

    async def _webhooks(self, stop: asyncio.Event) -> None:
        """Send the webhook calls of finished jobs, whenever some are due."""
        while not stop.is_set():
            await self._send_webhooks()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(1.0, self.options.poll_seconds))

    async def _send_webhooks(self) -> None:
        # One client for the worker's life: making one (TLS context, .netrc) costs tens of ms
        # of CPU, which polling every second would spend again and again.
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(follow_redirects=False)
        try:
            await deliver_due(self.engine, self._webhook_client, self.options.webhooks)
        except Exception:  # the database is away: the calls stay queued
            log.exception("sending webhooks failed; retrying")

    async def _heartbeat(self) -> None:
        interval = max(0.5, self.options.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            await self._beat()
            try:
                await asyncio.to_thread(
                    store.renew, self.engine, self.id, list(self.held), self.options.lease_seconds
                )
                reaped = await asyncio.to_thread(store.reap_expired, self.engine)
                if reaped:
                    log.info("put %d tasks with expired leases back in the queue", reaped)
            except Exception as exc:
                _log_database_error(exc, "lease renewal failed; retrying")

    async def _writer(self) -> None:
        while True:
            await self._flush_wanted.wait()
            if not self._closing:  # let more results join this write
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._write_now.wait(), timeout=FLUSH_SECONDS)
            self._flush_wanted.clear()
            self._write_now.clear()
            outcomes, self._outcomes = self._outcomes, []
            cache_rows, self._cache_rows = self._cache_rows, []
            if outcomes or cache_rows:
                try:
                    fresh = await asyncio.to_thread(
                        store.finish, self.engine, self.id, outcomes, cache_rows
                    )
                except Exception as exc:
                    _log_database_error(exc, f"writing {len(outcomes)} results failed; will retry")
                    self._outcomes[:0], self._cache_rows[:0] = outcomes, cache_rows
                    await asyncio.sleep(1)
                    self._flush_wanted.set()
                    continue
                self._refresh_jobs(fresh)
                for outcome in outcomes:
                    self.held.pop(outcome.task.id, None)
                self._unwritten -= len(outcomes)
                for tally in (self.tally, self.total):
                    tally.count(outcomes)
                self.completed += sum(1 for o in outcomes if o.kind == "done")
                self._capacity_freed.set()
            if self._closing and not self._outcomes:
                return

    def _emit(
        self, outcomes: list[Outcome], cache_rows: list[dict[str, Any]] | None = None
    ) -> None:
        self._outcomes.extend(outcomes)
        self._cache_rows.extend(cache_rows or [])
        self._unwritten += len(outcomes)
        self._flush_wanted.set()
        waiting = len(self._outcomes)
        if waiting >= self.options.concurrency or self._unwritten >= len(self.held):
            self._write_now.set()
        self._capacity_freed.set()  # its call slot is free: there may be room to claim

    # -- from claimed tasks to units --------------------------------------------------------

    def _refresh_jobs(self, fresh: dict[int, JobState]) -> None:
        """Take the jobs' state as the database has it, in place: a unit holding a job's state
        across its call adds the call's price to the live object, so no price is lost when a
        write or claim brings fresher state meanwhile (what was spent locally and not yet
        written stays counted)."""
        for job_id, state in fresh.items():
            local = self.jobs.get(job_id)
            if local is None:
                self.jobs[job_id] = state
                continue
            local.status, local.budget_usd, local.seed = state.status, state.budget_usd, state.seed
            local.spent_usd = max(state.spent_usd, local.spent_usd)

    async def _accept(self, claim: Claim) -> None:
        self._refresh_jobs(claim.jobs)
        immediate: list[Outcome] = []
        units: list[Unit] = []
        batches: dict[tuple[int, int], list[ClaimedTask]] = defaultdict(list)
        for task in claim.tasks:
            self.held[task.id] = task
            row = claim.annotators.get(task.annotator_id)
            try:
                config = self._config(row.config_sha256, row.config) if row else None
            except ConfigError as exc:
                immediate.append(Outcome(task, "failed", error=str(exc)))
                continue
            if not isinstance(config, AnnotatorConfig):
                immediate.append(
                    Outcome(task, "failed", error="the annotator has no usable config")
                )
                continue
            if task.attempts > config.max_attempts:
                immediate.append(
                    Outcome(task, "failed", error=f"gave up after {config.max_attempts} attempts")
                )
                continue
            seed = self.jobs[task.job_id].seed
            if task.output_1 == task.output_2:  # AlpacaFarm's rule: a tie, and no call
                meta = {"config_sha256": row.config_sha256, "identical_outputs": True}  # type: ignore[union-attr]
                if task.pool:
                    meta["pool"] = task.pool
                annotation = direct_annotation(task, row.id, 1.5, noisy=False, metadata=meta)  # type: ignore[union-attr]
                immediate.append(Outcome(task, "done", annotation=annotation))
                continue
            pool = claim.pools.get(task.pool or "", {})
            noise = noisy_preference(seed, task.key, row.name, pool.get("p_label_flip", 0.0))  # type: ignore[union-attr]
            if noise is not None:
                meta = {"pool": task.pool, "noise": "p_label_flip"}
                annotation = direct_annotation(task, row.id, noise, noisy=True, metadata=meta)  # type: ignore[union-attr]
                immediate.append(Outcome(task, "done", annotation=annotation))
            elif config.provider == "builtin":
                preference = builtin_preference(
                    config.model, task.output_1, task.output_2, seed=seed, key=task.key
                )
                meta = {"config_sha256": row.config_sha256, "builtin": config.model}  # type: ignore[union-attr]
                if task.pool:
                    meta["pool"] = task.pool
                annotation = direct_annotation(task, row.id, preference, noisy=False, metadata=meta)  # type: ignore[union-attr]
                immediate.append(Outcome(task, "done", annotation=annotation))
            else:
                batches[(task.annotator_id, task.job_id)].append(task)
        for (annotator_id, job_id), tasks in batches.items():
            row = claim.annotators[annotator_id]
            config = self._configs[row.config_sha256]
            assert isinstance(config, AnnotatorConfig)
            for start in range(0, len(tasks), config.batch_size):
                unit = Unit(
                    annotator_id,
                    row.name,
                    config,
                    row.config_sha256,
                    job_id,
                    tasks[start : start + config.batch_size],
                )
                try:
                    plan_calls(unit, self.jobs[job_id].seed, self.options.template_limits)
                except ConfigError as exc:  # e.g. a template that does not render this input
                    immediate.extend(Outcome(t, "failed", error=str(exc)) for t in unit.tasks)
                    continue
                units.append(unit)
        if immediate:
            self._emit(immediate)
        keys = [call.cache_key for unit in units for call in unit.calls]
        try:
            cached = await asyncio.to_thread(store.cached_completions, self.engine, keys)
        except Exception as exc:  # the calls are made instead; their results wait for the db
            _log_database_error(exc, "reading the response cache failed; calling the providers")
            cached = {}
        for unit in units:
            for call in unit.calls:
                if call.cache_key in cached:
                    call.response = LlmResponse.from_json(cached[call.cache_key])
                    call.cached = True
            unit_task = asyncio.create_task(self._run_unit(unit))
            self._units.add(unit_task)
            unit_task.add_done_callback(self._units.discard)

    def _config(self, sha: str, data: dict[str, Any]) -> AnnotatorConfig | PoolConfig:
        if sha not in self._configs:
            self._configs[sha] = parse_config(data)
        return self._configs[sha]

    def _limits_for(self, unit: Unit) -> AnnotatorLimits:
        if unit.config_sha256 not in self._limits:
            config = unit.config
            self._limits[unit.config_sha256] = AnnotatorLimits(
                config.max_concurrency, config.requests_per_minute, config.tokens_per_minute
            )
        return self._limits[unit.config_sha256]

    def _provider_for(self, unit: Unit) -> Provider:
        if unit.config_sha256 not in self._providers:
            self._providers[unit.config_sha256] = make_provider(unit.config, self._provider_clients)
        return self._providers[unit.config_sha256]

    # -- running a unit ---------------------------------------------------------------------

    async def _run_unit(self, unit: Unit) -> None:
        try:
            if all(call.cached for call in unit.calls):
                self._complete(unit)
                return
            limits = self._limits_for(unit)
            async with limits.slots:
                for call in unit.calls:
                    if call.cached:
                        continue
                    await limits.admit(call.estimated_tokens)
                    async with self._call_slots:
                        job = self.jobs[unit.job_id]
                        if not job.dispatchable:
                            self._emit([Outcome(t, "release") for t in unit.tasks])
                            return
                        await self._call(unit, call)
                        job.spent_usd += call.cost_usd
            self._complete(unit)
        except ProviderError as exc:
            self._retry_or_fail(unit, str(exc), exc.transient, exc.retry_after)
        except asyncio.CancelledError:
            self._emit([Outcome(t, "release", spent_usd=0.0) for t in unit.tasks])
            raise
        except Exception as exc:  # a bug must not leave tasks leased until the lease expires
            log.exception("unit of %s failed", unit.annotator_name)
            self._retry_or_fail(unit, f"internal error: {exc!r}", True, None)

    async def _call(self, unit: Unit, call: Call) -> None:
        """One provider call: its answer, latency and price, recorded in the metrics."""
        provider = self._provider_for(unit)
        config = unit.config
        started = time.perf_counter()
        try:
            call.response = await provider.complete(call.request)
        except ProviderError as exc:
            seconds = time.perf_counter() - started
            record_provider_call(config.provider, config.model, seconds, ok=False)
            log.debug("%s call of %s failed after %.0f ms: %s", config.model, unit.annotator_name,
                      seconds * 1000, exc)  # fmt: skip
            raise
        seconds = time.perf_counter() - started
        call.latency_ms = seconds * 1000
        call.cost_usd = price(config, call.response)
        record_provider_call(
            config.provider,
            config.model,
            seconds,
            cost_usd=call.cost_usd,
            prompt_tokens=call.response.prompt_tokens,
            completion_tokens=call.response.completion_tokens,
        )
        log.debug(
            "%s call of %s: %d + %d tokens, $%.6f, %.0f ms",
            config.model,
            unit.annotator_name,
            call.response.prompt_tokens,
            call.response.completion_tokens,
            call.cost_usd,
            seconds * 1000,
        )

    def _complete(self, unit: Unit) -> None:
        try:
            rows = annotation_rows(unit)
        except BatchCountMismatch as exc:
            self._retry_or_fail(unit, f"batch answer rejected: {exc}", True, None)
            return
        share = unit.paid_usd / len(unit.tasks)
        outcomes = [
            Outcome(task, "done", annotation=row, spent_usd=share)
            for task, row in zip(unit.tasks, rows, strict=True)
        ]
        cache_rows = [
            {
                "key": call.cache_key,
                "provider": unit.config.provider,
                "model": unit.config.model,
                "completion": call.response.to_json(),  # type: ignore[union-attr]
                "usage": {
                    "prompt_tokens": call.response.prompt_tokens,  # type: ignore[union-attr]
                    "completion_tokens": call.response.completion_tokens,  # type: ignore[union-attr]
                },
            }
            for call in unit.calls
            if not call.cached and all(row["parse_error"] is None for row in rows)
        ]
        self._emit(outcomes, cache_rows)

    def _retry_or_fail(
        self, unit: Unit, error: str, transient: bool, retry_after: float | None
    ) -> None:
        share = unit.paid_usd / len(unit.tasks)
        outcomes = []
        for task in unit.tasks:
            if transient and task.attempts < unit.config.max_attempts:
                delay = min(
                    self.options.retry_max_seconds,
                    self.options.retry_base_seconds * 2 ** (task.attempts - 1),
                ) * random.uniform(0.5, 1.5)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                retry_at = utcnow() + timedelta(seconds=delay)
                outcomes.append(
                    Outcome(task, "retry", error=error, not_before=retry_at, spent_usd=share)
                )
            else:
                reason = error if not transient else f"{error} (after {task.attempts} attempts)"
                outcomes.append(Outcome(task, "failed", error=reason, spent_usd=share))
        given_up = sum(1 for outcome in outcomes if outcome.kind == "failed")
        if given_up:
            log.warning("%s: %d tasks failed: %s", unit.annotator_name, given_up, error)
        else:  # retried later; counted in the summary lines
            log.debug("%s: %s; retrying %d tasks", unit.annotator_name, error, len(outcomes))
        self._emit(outcomes)


@dataclass
class Tally:
    """What a worker got done over a while, for its summary lines."""

    since: float = field(default_factory=time.monotonic)
    judgments: int = 0
    errors: int = 0  # provider errors, retried or final
    spent_usd: float = 0.0

    def count(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.judgments += outcome.kind == "done"
            self.errors += outcome.kind in ("retry", "failed")
            self.spent_usd += outcome.spent_usd

    def summary(self, seconds: float) -> str:
        rate = self.judgments / seconds if seconds > 0 else 0.0
        return (
            f"{self.judgments} judgments in {seconds:.0f} s ({rate:.1f}/s), "
            f"{self.errors} errors, ${self.spent_usd:.4f} spent"
        )


def _log_database_error(exc: BaseException, what: str) -> None:
    """One warning line while the database is away (it is expected during a restart); a full
    traceback for anything else."""
    if is_unavailable(exc):
        log.warning("%s: database unavailable (%s)", what, str(exc).splitlines()[0][:200])
    else:
        log.exception(what)


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def run_until_idle(engine: Engine, options: WorkerOptions) -> Worker:
    """Run one worker until no task is left that it could claim now (tests, `--until-idle`)."""
    worker = Worker(engine, options)
    asyncio.run(worker.run(until_idle=True))
    return worker
