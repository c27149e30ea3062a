"""The rating web app: server-rendered pages for raters (login, rate) and admins (raters, QC)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.resources import resource_dir
from app.web.admin import router as admin_router
from app.web.errors import install_web_error_handlers
from app.web.login import router as login_router
from app.web.rating import router as rating_router


def install_web(app: FastAPI) -> None:
    """Mount the pages, their static files and error pages on the app."""
    install_web_error_handlers(app)
    app.mount("/static", StaticFiles(directory=resource_dir("templates") / "static"), "static")
    for router in (login_router, rating_router, admin_router):
        app.include_router(router)
