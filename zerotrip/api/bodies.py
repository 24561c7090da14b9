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
        data = json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedBody(f"The body is not valid JSON ({exc}).") from None
    except RecursionError:
        raise MalformedBody("The body is nested too deeply.") from None
    _check_text(data)
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_text(data: Any) -> None:
    """Refuse text no database stores faithfully: NUL characters and unpaired surrogates."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(where, key)
                stack.append((f"{where}.{key}" if where else key, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{n}" if where else str(n), v) for n, v in enumerate(value))
        elif isinstance(value, str):
            _check_string(where, value)


def _check_string(where: str, text: str) -> None:
    if "\x00" in text:
        field = where or "(body)"
        raise InvalidInput(
            f"{field}: text may not contain NUL characters.",
            errors=[{"field": field, "message": "contains a NUL character", "code": "nul"}],
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody(f"{where or '(body)'}: text contains an unpaired surrogate.") from None


async def parse_body(request: web.Request, model: type[M], max_bytes: int) -> M:
    data = await read_json(request, max_bytes)
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def parse_query(request: web.Request, model: type[M]) -> M:
    for name, value in request.query.items():
        _check_string(name, name)
        _check_string(name, value)
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from None


MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_ID}.")
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
