"""Settings read from `PREFARM_*` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PREFARM_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./prefarm.db",
        description="SQLAlchemy URL; `postgresql+psycopg://user@host/db` selects PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024, description="Largest request body accepted, in bytes."
    )
    max_batch_rows: int = Field(default=100_000, description="Most rows in one bulk request.")
    page_size_max: int = 1000
    log_level: str = "info"


@lru_cache
def get_settings() -> Settings:
    return Settings()
