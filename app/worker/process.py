"""Running workers: as a process of its own (`prefarm worker`), or as a thread inside the API
server (SQLite, one machine; app.server starts it)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

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
