"""Fetching the next batch in a thread while the current one is encoded
(app/exports/prefetch.py): nothing lost, errors raised where the batches are read, and a
download stopped early stops the fetching and closes the cursor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.exports.prefetch import prefetched


class Source:
    """Batches 0..count-1, remembering whether it was closed; fails at `fail_at`."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at, self.closed = count, fail_at, False

    def batches(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise RuntimeError("the database went away")
                yield n
        finally:
            self.closed = True


def test_every_batch_arrives_in_order() -> None:
    source = Source(1000)

    assert list(prefetched(source.batches())) == list(range(1000))
    assert source.closed


def test_an_error_while_fetching_is_raised_to_the_reader() -> None:
    source = Source(10, fail_at=5)
    read = []

    with pytest.raises(RuntimeError, match="went away"):
        for batch in prefetched(source.batches()):
            read.append(batch)

    assert read == [0, 1, 2, 3, 4]
    assert source.closed


def test_stopping_early_stops_the_fetching_and_closes_the_source() -> None:
    source = Source(10**9)
    reader = prefetched(source.batches(), depth=2)

    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()

    assert source.closed
