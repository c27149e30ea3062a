"""Metrics (Prometheus) and structured logs with request ids, for the API and the workers."""
