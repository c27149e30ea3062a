"""Logs of every prefarm process: one format for all (JSON objects, one a line, each carrying
the id of the request it belongs to; plain lines on a terminal), and quiet libraries: the
HTTP clients' line per request and Alembic's start-up chatter are left out, Alembic's
"Running upgrade" lines are kept."""

from __future__ import annotations

import logging
import logging.config
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("prefarm_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = request_id_var.get()
        return f"{line} [request {request_id}]" if request_id else line


# Libraries that log a line per HTTP request (the LLM SDKs' clients) or per start-up step.
_QUIET_LIBRARIES = ("httpx", "httpx2", "httpcore", "aiohttp", "openai", "anthropic")


class MigrationsThatRun(logging.Filter):
    """Of Alembic's lines, those about migrations actually applied, not its set-up notes
    ("Context impl …", plugins) that every start would print."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("alembic") or record.levelno >= logging.WARNING:
            return True
        return record.getMessage().startswith(("Running upgrade", "Running downgrade"))


def resolve_format(log_format: str) -> str:
    """`auto`: plain lines when a person watches stderr, JSON when a machine collects it."""
    if log_format == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return log_format


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted, not when logging was set up:
    a command run in-process (tests, `prefarm demo`) may swap stderr and close its old one."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def logging_config(level: str = "info", log_format: str = "auto") -> dict[str, Any]:
    """A `logging.config.dictConfig` for prefarm and uvicorn (whose access log it replaces)."""
    formatter = JsonFormatter if resolve_format(log_format) == "json" else TextFormatter
    handler = {
        "()": StderrHandler,
        "formatter": "prefarm",
        "filters": ["migrations_that_run"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"prefarm": {"()": formatter}},
        "filters": {"migrations_that_run": {"()": MigrationsThatRun}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            **{name: {"level": "WARNING"} for name in _QUIET_LIBRARIES},
        },
    }


def configure_logging(level: str = "info", log_format: str = "auto") -> None:
    logging.config.dictConfig(logging_config(level, log_format))
