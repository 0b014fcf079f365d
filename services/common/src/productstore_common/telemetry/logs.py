"""JSON logs: one object per line, carrying the trace and request ids.

Fields: ts, level, logger, message, service, trace_id, span_id, request_id, then
whatever the call passed in `extra=`, and `exception` (the traceback) when there
is one. uvicorn's own loggers are routed through the same handler, and its access
log lines (only if asked: `access_log`) are split into fields (client, method,
path, status).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from productstore_common.telemetry.request_id import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_ACCESS_LOGGER = "uvicorn.access"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", _ACCESS_LOGGER)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = trace.format_trace_id(context.trace_id)
            entry["span_id"] = trace.format_span_id(context.span_id)
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if (
            record.name == _ACCESS_LOGGER
            and isinstance(record.args, tuple)
            and len(record.args) == len(_ACCESS_FIELDS)
        ):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _JsonHandler(logging.StreamHandler[TextIO]):
    """Marks the handler we installed, so configuring again replaces only it."""


def configure_logging(
    service: str, level: str = "INFO", stream: TextIO | None = None, *, access_log: bool = False
) -> None:
    """Send every log record of the process to `stream` (stdout) as JSON lines.

    uvicorn logs each request only with `access_log`: it writes access lines when
    its access logger has a handler, and routing it to ours would give it one
    whatever `--no-access-log` said.

    Safe to call again (e.g. one app per test): our previous handler is replaced,
    handlers installed by others (pytest's capture) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _JsonHandler):
            root.removeHandler(handler)
    handler = _JsonHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn installs its own plain-text handlers before importing the app;
    # hand its records to the root handler instead.
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = name != _ACCESS_LOGGER or access_log
        uvicorn_logger.setLevel(level)
