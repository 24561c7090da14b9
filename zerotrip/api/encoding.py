"""The one JSON encoder of every response: orjson, which writes UTF-8 bytes straight away.

It replaces ``json.dumps(..., ensure_ascii=False)``: the same values (datetimes and dates as ISO
8601, exactly as ``isoformat()`` writes them, Chinese text as itself), without the spaces, and
several times faster: on a list of 50 cases the standard encoder was 15% of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

# Keys that are not strings (a dict keyed by id) become strings, as the standard encoder did.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_fallback, option=_OPTIONS)


def json_bytes_response(
    body: bytes, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    """A response whose JSON body is already encoded (a cached rendering, a fast read)."""
    return web.Response(status=status, body=body, content_type=content_type, charset="utf-8")


def json_response(
    data: Any, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    return json_bytes_response(dumps(data), status, content_type)


def dumps_lenient(data: Any) -> bytes:
    """For problem bodies: whatever a problem carries is shown as text rather than refused."""
    return orjson.dumps(data, default=str, option=_OPTIONS)


class RenderedRows:
    """Rendered JSON of list rows, keyed by everything the rendering depends on (the row's
    values and the viewing date), so a hit is exactly what rendering again would give and
    nothing can go stale. A page of 50 cases is then 50 look-ups and a join, not 50 models.

    Bounded: past ``max_entries`` it starts afresh (pages are re-rendered once).
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._rows: dict[Any, bytes] = {}

    def render(self, key: Any, make: Callable[[], Any]) -> bytes:
        found = self._rows.get(key)
        if found is None:
            if len(self._rows) >= self.max_entries:
                self._rows.clear()
            found = self._rows[key] = dumps(make())
        return found
