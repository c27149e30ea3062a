"""Engines for the configured database (one per process and URL)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine

from app.config import get_settings
from app.db.dialect import engine_options, prepare_engine


def make_engine(url: str) -> Engine:
    engine = create_engine(url, **engine_options(url))
    prepare_engine(engine)
    return engine


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().database_url)
