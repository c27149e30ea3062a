"""The researcher dashboard: jobs, progress, statistics charts, disagreements and exports."""

from app.dashboard.pages import router

__all__ = ["router"]
