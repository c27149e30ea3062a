"""The error every layer raises for a request that cannot be served. The HTTP layer renders it
as `{"error": {"code", "message", "details"}}` for the API and as an error page for browsers,
with its status (app.http.errors)."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str) -> RequestError:
    return RequestError(404, "not_found", f"{what} not found")
