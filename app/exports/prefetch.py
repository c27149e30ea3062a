"""Reading the next batch of rows while the current one is encoded.

A server-side cursor makes PostgreSQL compute rows only when they are fetched, so fetching and
encoding in turn leaves one of them idle at any time. `prefetched` runs the fetching in a thread
of its own, at most `depth` batches ahead (memory stays flat); psycopg releases the GIL while it
waits for the server. The thread owns the iterator: it alone fetches from, and finally closes,
the cursor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of `items`, produced up to `depth` ahead in another thread. Closing this
    iterator early (a download cancelled) stops and joins that thread."""
    queue: Queue[T | _End] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        end = _End()
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            end = _End(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        offer(end)

    thread = threading.Thread(target=produce, name="prefarm-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                if not thread.is_alive() and queue.empty():
                    return
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        thread.join()
