"""The access log, with secrets in request lines and headers redacted (see
:mod:`zerotrip.redaction`): both the formatted line and the structured fields a JSON log
formatter would pick up carry the redacted text."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from zerotrip.redaction import redact


class RedactingAccessLogger(AccessLogger):
    # aiohttp 3.14's AccessLogger builds each line from the (key, value) pairs of
    # _format_line; tests/security/test_redaction.py catches a change of that contract.
    def _format_line(
        self, request: BaseRequest, response: StreamResponse, time: float
    ) -> Iterable[tuple[str | tuple[str, str], str]]:
        return [
            (key, redact(value) if isinstance(value, str) else value)
            for key, value in super()._format_line(request, response, time)
        ]
