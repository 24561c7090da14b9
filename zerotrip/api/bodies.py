"""Reading request bodies and query strings into validated models, with clear 4xx errors."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from zerotrip.problems import InvalidInput, MalformedBody, TooLarge, UnsupportedMedia

M = TypeVar("M", bound=BaseModel)


def validation_problem(exc: ValidationError) -> InvalidInput:
    errors = [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "(body)",
            "message": err["msg"],
            "code": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]
    first = errors[0]
    return InvalidInput(f"{first['field']}: {first['message']}", errors=errors)


async def read_json(request: web.Request, max_bytes: int) -> Any:
    if request.content_length is not None and request.content_length > max_bytes:
        raise TooLarge(f"The body may be at most {max_bytes} bytes.")
    if request.can_read_body and request.content_type not in ("application/json", ""):
        raise UnsupportedMedia("Send the body as application/json.")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > max_bytes:
            raise TooLarge(f"The body may be at most {max_bytes} bytes.")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBody(f"The body is not valid JSON ({exc}).") from None


async def parse_body(request: web.Request, model: type[M], max_bytes: int) -> M:
    data = await read_json(request, max_bytes)
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def parse_query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from None


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name} must be a positive whole number.")
    return int(raw)


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def reply(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False, default=_default),
        content_type="application/json",
    )
