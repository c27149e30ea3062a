"""The one app factory: the API, the rating pages and the dashboard on one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from app import __version__
from app.api.annotations import router as annotations_router
from app.api.annotators import router as annotators_router
from app.api.annotators import tasks_router as annotator_tasks_router
from app.api.comparisons import router as comparisons_router
from app.api.exports import router as exports_router
from app.api.health import router as health_router
from app.api.jobs import router as jobs_router
from app.api.observability import install_observability
from app.api.stats import router as stats_router
from app.config import Settings, get_settings
from app.dashboard import router as dashboard_router
from app.db.engine import get_engine, session_factory
from app.http.body_limit import BodySizeLimit
from app.http.errors import install_error_handlers
from app.web import install_web
from app.worker.process import inprocess_worker_lifespan

DESCRIPTION = """
prefarm stores instruction/output pairs, routes each comparison to human raters or simulated
LLM annotators, and exports agreement statistics and preference datasets.

Authenticate with `Authorization: Bearer <token>` (`prefarm tokens create`). Every error is
`{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    app = FastAPI(
        title="prefarm",
        version=__version__,
        description=DESCRIPTION,
        lifespan=inprocess_worker_lifespan,  # on SQLite: one worker inside the server
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for router in (health_router, jobs_router, comparisons_router, annotations_router):
        app.include_router(router)
    app.include_router(stats_router)
    app.include_router(annotators_router)
    app.include_router(annotator_tasks_router)
    app.include_router(exports_router)
    install_web(app)  # the rating pages for raters and admins
    app.include_router(dashboard_router)  # the researcher dashboard
    install_observability(app, settings, engine)  # last: its middleware wraps all the others
    return app
