"""Process logging: plain lines for a terminal, or one JSON object a line for a log collector.

Every record logged while a request is handled carries that request's id (the ``X-Request-Id``
it came with from the proxy, or one made up), so one request's lines can be found across the
proxy's and the processes' logs. The id lives in a context variable: each asyncio task sees its
own request's, and nothing is shared between requests.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
from datetime import UTC, datetime

from zerotrip.config import Settings

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "zerotrip_request_id", default=None
)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (or None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request id,
    process role and pid, the exception if any, and whatever was passed with ``extra=``."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role
        self.host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "role": self.role,
            "pid": os.getpid(),
            "host": self.host,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Set up the root logger of this process from ``log_level`` and ``log_format``."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(settings.role))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
