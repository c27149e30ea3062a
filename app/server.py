"""The one app factory: the API, the rating pages and the dashboard on one FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.api.annotations import router as annotations_router
from app.api.annotators import router as annotators_router
from app.api.annotators import tasks_router as annotator_tasks_router
from app.api.comparisons import check_router as comparisons_check_router
from app.api.comparisons import router as comparisons_router
from app.api.docs import ASSETS_URL, swagger_assets
from app.api.docs import router as docs_router
from app.api.exports import router as exports_router
from app.api.health import router as health_router
from app.api.jobs import router as jobs_router
from app.api.metrics import router as metrics_router
from app.api.stats import router as stats_router
from app.api.tokens import router as tokens_router
from app.config import Settings, get_settings
from app.dashboard.pages import router as dashboard_router
from app.db.dialect import runs_worker_in_server
from app.db.engine import get_engine
from app.http.body_limit import BodySizeLimit
from app.http.errors import install_error_handlers
from app.http.input import refuse_nul_characters
from app.http.observability import RequestObservability
from app.observability.metrics import database_registry
from app.resources import resource_dir
from app.stats.service import BackgroundStatistics
from app.web.admin import router as admin_router
from app.web.login import router as login_router
from app.web.rating import router as rating_router
from app.worker.process import BackgroundWorker
from app.worker.runner import WorkerOptions

DESCRIPTION = """
prefarm stores instruction/output pairs, routes each comparison to human raters or simulated
LLM annotators, and exports agreement statistics and preference datasets.

Authenticate with `Authorization: Bearer <token>` (`prefarm tokens create`). Every error is
`{"error": {"code", "message", "details"}}`.
"""

ROUTERS = (
    docs_router,
    health_router,
    metrics_router,
    jobs_router,
    comparisons_router,
    comparisons_check_router,
    annotations_router,
    stats_router,
    annotators_router,
    annotator_tasks_router,
    exports_router,
    tokens_router,
    login_router,  # the rating pages for raters and admins
    rating_router,
    admin_router,
    dashboard_router,  # the researcher dashboard
)


@asynccontextmanager
async def inprocess_worker_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs one worker inside the API server when PREFARM_INPROCESS_WORKER says so (by default:
    on SQLite, where there is one machine and no separate worker processes)."""
    settings: Settings = app.state.settings
    engine: Engine = app.state.engine
    enabled = settings.inprocess_worker
    if enabled is None:
        enabled = runs_worker_in_server(engine)
    background = None
    statistics: BackgroundStatistics = app.state.statistics
    if enabled:
        background = BackgroundWorker(engine, WorkerOptions.from_settings(settings))
        background.start()
        app.state.worker = background.worker
    try:
        yield
    finally:
        if background is not None:
            await asyncio.to_thread(background.stop)
        await asyncio.to_thread(statistics.shutdown)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    app = FastAPI(
        title="prefarm",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # app/api/docs.py serves /docs from installed files, not a CDN
        redoc_url=None,
        lifespan=inprocess_worker_lifespan,  # on SQLite: one worker inside the server
        dependencies=[Depends(refuse_nul_characters)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.statistics = BackgroundStatistics(settings.stats_background_threads)
    app.state.metrics_registry = database_registry(engine, settings.metrics_cache_seconds)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.mount("/static", StaticFiles(directory=resource_dir("templates") / "static"), "static")
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_assets()), "docs-assets")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestObservability)  # it sees every answer
    trusted_proxies = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    if trusted_proxies:  # outermost: the client address is settled before anything reads it
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
    return app
