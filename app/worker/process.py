"""Running workers: as a process of its own (`prefarm worker`), as several
(`prefarm worker --processes N`), or as a thread inside the API server (SQLite, one machine;
app.server starts it)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.queues import SimpleQueue
from types import FrameType

from sqlalchemy import Engine

from app.worker.runner import Worker, WorkerOptions

log = logging.getLogger("prefarm.worker")


def run_process(engine: Engine, options: WorkerOptions, *, until_idle: bool = False) -> int:
    """Work until SIGTERM/SIGINT (or, with until_idle, until the queue is empty). Returns the
    number of tasks completed."""
    worker = Worker(engine, options)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await worker.run(stop, until_idle=until_idle)

    asyncio.run(main())
    return worker.completed


def run_processes(count: int, work: Callable[[], int]) -> int:
    """Run `work` (one worker until it stops; returns its completed tasks) in `count` fresh
    processes, each with its own event loop and database connections: one Python process is
    bound to one core. SIGTERM/SIGINT are passed on to every child. Returns the sum."""
    context = multiprocessing.get_context("spawn")  # nothing of this process is inherited
    results: SimpleQueue[int] = context.SimpleQueue()
    children = [
        context.Process(target=_child, args=(work, results), name=f"prefarm-worker-{n}")
        for n in range(count)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    previous = {
        signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for child in children:
            child.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    completed = 0
    while not results.empty():
        completed += results.get()
    return completed


def _child(work: Callable[[], int], results: SimpleQueue[int]) -> None:
    results.put(work())


class BackgroundWorker:
    """One worker on its own thread and event loop, started and stopped with the API server."""

    def __init__(self, engine: Engine, options: WorkerOptions) -> None:
        self.worker = Worker(engine, options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefarm-worker", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.worker.run(self._stop)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("the in-process worker stopped with an error")
        finally:
            self._ready.set()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self, timeout: float = 60) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=timeout)
