"""The HTTP API: the REST routers under /api/v1, health and metrics."""
