"""Keyset pages: rows in id order after a given id, and where the next page starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_after: int | None  # the id the next page starts after; None on the last page


def keyset_page(rows: Sequence[T], limit: int, last_id: Callable[[T], int]) -> Page[T]:
    """The page from rows fetched with `LIMIT limit + 1`: the extra row says there is more."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, last_id(items[-1]) if more and items else None)
