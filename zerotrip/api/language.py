"""Which language a caller reads: Chinese unless its ``Accept-Language`` prefers English."""

from __future__ import annotations

from aiohttp import web

DEFAULT = "zh"
SUPPORTED = ("zh", "en")


def preferred_language(request: web.Request) -> str:
    """The supported language with the highest ``q`` in ``Accept-Language`` (zh-CN by default).

    Ties keep the header's order, as browsers list the user's first choice first.
    """
    best, best_q = DEFAULT, -1.0
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in SUPPORTED:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best
