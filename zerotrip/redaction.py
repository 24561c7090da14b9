"""Secrets never reach a log line: applicant links, staff tokens, webhook tokens, bearer headers.

A capability link *is* the credential (``/a/zta_…``), and Shippo's webhook secret travels as
``?token=`` in its URL, so any line that names a URL can leak one: the access log, an error
naming the request path, a traceback quoting a URL. :func:`install_redaction` makes every log
record of the process pass through :func:`redact` as it is made, whatever handler or format
later writes it; the access log does the same to its structured fields
(:class:`zerotrip.api.access_log.RedactingAccessLogger`).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Staff tokens and applicant links, wherever they appear (paths, headers, messages).
    (re.compile(r"\b(zt[as]_)[A-Za-z0-9_\-]+"), rf"\1{REDACTED}"),
    # Secrets carried in a query string (Shippo's ?token=, and their usual cousins).
    (
        re.compile(
            r"([?&;](?:token|access_token|api_key|key|secret|signature|password)=)[^&\s\"']*",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(Bearer\s+)[^\s\"',]+", re.IGNORECASE), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacting(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as it would
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    make_record.redacting = True  # type: ignore[attr-defined]
    return make_record


def install_redaction() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting(current))
