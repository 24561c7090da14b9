"""Reading request bodies and query strings into validated models, with clear 4xx errors.

Bodies are read at a pace the service sets (:func:`paced_chunks`): a client that stalls or
trickles is cut with a 408 rather than holding a handler and a temporary file, and one that hangs
up is an ordinary event (an info line), not an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, ContentLengthError
from pydantic import BaseModel, ValidationError

from zerotrip.api.encoding import json_response
from zerotrip.api.keys import SETTINGS
from zerotrip.api.language import field_problem_zh
from zerotrip.problems import (
    ClientDisconnected,
    InvalidInput,
    MalformedBody,
    RequestTimeout,
    TooLarge,
    UnsupportedMedia,
)

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("zerotrip.api")
MAX_JSON_DEPTH = 32  # our documents nest a handful of levels; a parser's stack needs ~1000
_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_NESTING = re.compile(rb"[\[\]{}]")


async def paced_chunks(request: web.Request, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The request body in chunks, cut when it stalls or crawls (``Settings.body_*``).

    A read waiting longer than ``body_idle_timeout_s`` for the next bytes, or a body averaging
    under ``body_min_bytes_per_s`` once ``body_rate_grace_s`` have passed, ends with a 408; a
    client hanging up ends with :class:`ClientDisconnected` (nobody is left to answer).
    """
    settings = request.app[SETTINGS]
    loop = asyncio.get_running_loop()
    started, received = loop.time(), 0
    while True:
        try:
            chunk = await asyncio.wait_for(
                request.content.read(chunk_size), settings.body_idle_timeout_s
            )
        except TimeoutError:
            raise _too_slow(f"nothing arrived for {settings.body_idle_timeout_s:g} s") from None
        except (ConnectionError, ContentLengthError):
            log.info(
                "client hung up after %d bytes of %s %s", received, request.method, request.path
            )
            raise ClientDisconnected(
                "The client closed the connection mid-body.", zh="上传过程中连接已断开。"
            ) from None
        except BadHttpMessage as exc:
            raise MalformedBody(
                f"The body cannot be read ({exc.message}).",
                zh=f"无法读取提交的内容（{exc.message}）。",
            ) from None
        if not chunk:
            return
        received += len(chunk)
        elapsed = loop.time() - started
        if (
            elapsed > settings.body_rate_grace_s
            and received / elapsed < settings.body_min_bytes_per_s
        ):
            raise _too_slow(f"{received} bytes in {elapsed:.0f} s")
        yield chunk


def _too_slow(why: str) -> RequestTimeout:
    return RequestTimeout(
        f"The body arrived too slowly ({why}); send it again on a better connection.",
        zh="上传速度过慢，已中断。请在网络较好时重新发送。",
    )


def check_json_depth(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``max_depth`` before any parser recurses into it."""
    depth = 0
    for bracket in _JSON_NESTING.finditer(_JSON_STRINGS.sub(b'""', raw)):
        depth += 1 if bracket[0] in (b"[", b"{") else -1
        if depth > max_depth:
            raise MalformedBody(
                f"The body is nested more than {max_depth} levels deep.",
                zh=f"请求内容嵌套超过 {max_depth} 层。",
            )


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
    return InvalidInput(
        f"{first['field']}: {first['message']}",
        zh=field_problem_zh(first["field"], first["code"]),
        errors=errors,
    )


async def read_json(request: web.Request, max_bytes: int) -> Any:
    if request.content_length is not None and request.content_length > max_bytes:
        raise TooLarge(
            f"The body may be at most {max_bytes} bytes.",
            zh=f"提交的内容不能超过 {max_bytes} 字节。",
        )
    if request.can_read_body and request.content_type not in ("application/json", ""):
        raise UnsupportedMedia(
            "Send the body as application/json.", zh="请以 application/json 格式提交。"
        )
    raw = bytearray()
    async for chunk in paced_chunks(request):
        raw += chunk
        if len(raw) > max_bytes:
            raise TooLarge(
                f"The body may be at most {max_bytes} bytes.",
                zh=f"提交的内容不能超过 {max_bytes} 字节。",
            )
    if not raw.strip():
        return {}
    check_json_depth(bytes(raw))
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedBody(
            f"The body is not valid JSON ({exc}).", zh=f"提交的内容不是有效的 JSON（{exc}）。"
        ) from None
    except RecursionError:
        raise MalformedBody(
            "The body is nested too deeply.", zh="提交的内容嵌套层数过多。"
        ) from None
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
            zh=field_problem_zh(field, "nul"),
            errors=[{"field": field, "message": "contains a NUL character", "code": "nul"}],
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody(
            f"{where or '(body)'}: text contains an unpaired surrogate.",
            zh=field_problem_zh(where, "surrogate"),
        ) from None


async def parse_body(request: web.Request, model: type[M], max_bytes: int) -> M:
    data = await read_json(request, max_bytes)
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", zh="提交的内容须为 JSON 对象。")
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
        raise InvalidInput(
            f"{name} must be a whole number from 1 to {MAX_ID}.",
            zh=f"{name} 须为 1 到 {MAX_ID} 之间的整数。",
        )
    return int(raw)


def reply(data: Any, status: int = 200) -> web.Response:
    return json_response(data, status)
