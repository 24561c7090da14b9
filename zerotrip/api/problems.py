"""Render every error as ``application/problem+json``: domain problems, aiohttp's HTTP errors,
and anything unexpected (as a bare 500 with an incident id, never a stack trace)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web

from zerotrip.api.encoding import dumps_lenient, json_bytes_response
from zerotrip.api.language import preferred_language
from zerotrip.problems import Problem

log = logging.getLogger("zerotrip.api")
PROBLEM_JSON = "application/problem+json"

_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    408: "request-timeout",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
}


def problem_response(status: int, body: dict[str, Any]) -> web.Response:
    return json_bytes_response(dumps_lenient(body), status, PROBLEM_JSON)


def render_problem(problem: Problem, request: web.Request) -> web.Response:
    body = problem.as_dict(language=preferred_language(request))
    body["instance"] = request.path
    response = problem_response(problem.status, body)
    response.headers.update(problem.headers())
    return response


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> web.Response:
    status = exc.status
    slug = _SLUGS.get(status, "error")
    detail = exc.text if exc.text and not exc.text.startswith(f"{status}:") else exc.reason
    if status == 405:
        detail = f"{request.method} is not allowed on {request.path}."
    if status == 404:
        detail = f"Nothing at {request.path}."
    if status == 413:
        detail = "The request body is larger than this endpoint accepts."
    resp = problem_response(
        status,
        {
            "type": f"/problems/{slug}",
            "title": exc.reason,
            "status": status,
            "detail": detail,
            "instance": request.path,
        },
    )
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in exc.headers:
            resp.headers[header] = exc.headers[header]
    return resp


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        return render_problem(problem, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(exc, request)
    except Exception:
        incident = secrets.token_hex(6)
        log.exception("unhandled error %s on %s %s", incident, request.method, request.path)
        return problem_response(
            500,
            {
                "type": "/problems/internal-error",
                "title": "Internal error",
                "status": 500,
                "detail": f"Something went wrong on our side (incident {incident}).",
                "incident": incident,
            },
        )
