"""The HTTP API (FastAPI)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from app import __version__
from app.api.annotations import router as annotations_router
from app.api.body_limit import BodySizeLimit
from app.api.comparisons import router as comparisons_router
from app.api.errors import install_error_handlers
from app.api.health import router as health_router
from app.api.jobs import router as jobs_router
from app.config import Settings, get_settings
from app.db.engine import get_engine, session_factory

DESCRIPTION = """
prefarm stores instruction/output pairs, routes each comparison to human raters or simulated
LLM annotators, and exports agreement statistics and preference datasets.

Authenticate with `Authorization: Bearer <token>` (`prefarm tokens create`). Every error is
`{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    app = FastAPI(title="prefarm", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for router in (health_router, jobs_router, comparisons_router, annotations_router):
        app.include_router(router)
    return app
