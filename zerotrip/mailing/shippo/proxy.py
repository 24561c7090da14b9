"""The shippo 3.9.0 SDK, made safe to call from the event loop.

The SDK is synchronous, built on ``requests``, and sends without a timeout; it raises one
``SDKError`` for every HTTP failure, lets transport errors through raw, and can fail to parse a
response AFTER the server acted (a label bought, then ``KeyError``). So:

* every call runs in a bounded thread pool, off the event loop;
* a ``requests.Session`` subclass injects ``(connect, read)`` timeouts into every send;
* an after-success hook keeps the raw body per thread, so an id survives a parse error;
* :func:`classify` turns each failure into the typed courier error that says what to do next,
  with POSTs that may have acted treated as :class:`OutcomeUnknown`.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
import shippo
from shippo._hooks.types import AfterSuccessContext, AfterSuccessHook
from shippo.models import errors
from shippo.sdkconfiguration import SERVERS

from zerotrip.mailing.interfaces import (
    Configuration,
    CourierError,
    CourierRefused,
    CourierUnavailable,
    OutcomeUnknown,
)
from zerotrip.mailing.shippo import marshal
from zerotrip.mailing.shippo.settings import ShippoSettings

T = TypeVar("T")


class TimeoutSession(requests.Session):
    """A Session whose every request has a timeout (the SDK passes none).

    It reads the environment (proxies, CA bundle) once, for the one host it talks to, instead
    of on every request: ``requests`` otherwise walks ``os.environ`` several times per call,
    which cost more CPU than the rest of the call.
    """

    def __init__(self, timeout: tuple[float, float], base_url: str = "") -> None:
        super().__init__()
        self.timeout = timeout
        if base_url:
            self.proxies.update(requests.utils.get_environ_proxies(base_url))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self.verify = bundle
            self.trust_env = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


UNPARSED = "application/vnd.zerotrip.unparsed"


class CaptureRaw(AfterSuccessHook):
    """Keeps the last raw 2xx body per thread and operation, and spares the SDK parsing it.

    3.9.0's dataclasses-json models cost about 20 ms of CPU per booking and fail on answers
    that carry a new status or omit ``created_by``; the adapter reads the few fields it needs
    from the JSON itself. Relabelling the body's content type makes the SDK hand it back
    unparsed (as an ``SDKError`` with a 2xx status, which :meth:`ShippoProxy.json` expects).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def after_success(
        self, hook_ctx: AfterSuccessContext, response: requests.Response
    ) -> requests.Response:
        if not hasattr(self._local, "bodies"):
            self._local.bodies = {}
        self._local.bodies[hook_ctx.operation_id] = response.text
        response.headers["Content-Type"] = UNPARSED
        return response

    def take(self, operation_id: str) -> str | None:
        bodies = getattr(self._local, "bodies", {})
        return bodies.pop(operation_id, None)

    def clear(self) -> None:
        self._local.bodies = {}


def raw_json(raw: str | None) -> dict[str, Any] | None:
    """A raw body as a JSON object, or None if it is not one (an HTML error page, nothing)."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def raw_object_id(raw: str | None) -> str | None:
    """The ``object_id`` of a body the SDK could not parse, if it is there at all."""
    value = (raw_json(raw) or {}).get("object_id")
    return value if isinstance(value, str) and value else None


PARSE_ERRORS = (KeyError, ValueError, AttributeError, TypeError)


def classify(exc: BaseException, *, acted: bool) -> CourierError:
    """Map an SDK / transport failure; ``acted``: the request may have changed state remotely."""
    if isinstance(exc, CourierError):
        return exc
    if isinstance(exc, errors.SDKError):
        code = exc.status_code
        body = (exc.body or "")[:300]
        if code == 401:
            return Configuration(f"shippo refused the API key: {body}")
        if code == 429:
            return CourierUnavailable(f"shippo rate limit: {body}", retry_after=_retry_after(exc))
        if 400 <= code < 500:
            return CourierRefused(f"shippo {code}: {body}")
        if 200 <= code < 300:  # a 2xx it could not read (content type)
            return (
                OutcomeUnknown(f"shippo {code}, unreadable: {body}")
                if acted
                else CourierUnavailable(body)
            )
        return (
            OutcomeUnknown(f"shippo {code}: {body}")
            if acted
            else CourierUnavailable(f"shippo {code}")
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return CourierUnavailable(f"shippo connect timeout: {exc}")  # never reached the server
    if isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
        return OutcomeUnknown(f"shippo transport: {exc}") if acted else CourierUnavailable(str(exc))
    if isinstance(exc, PARSE_ERRORS):
        msg = f"shippo response unreadable: {type(exc).__name__}: {str(exc)[:200]}"
        return OutcomeUnknown(msg) if acted else CourierUnavailable(msg)
    return OutcomeUnknown(f"{type(exc).__name__}: {exc}") if acted else CourierUnavailable(str(exc))


def _retry_after(exc: errors.SDKError) -> float | None:
    raw = exc.raw_response.headers.get("Retry-After") if exc.raw_response is not None else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


class ShippoProxy:
    """One SDK client, a thread pool to run it in, and the raw-body capture."""

    def __init__(self, config: ShippoSettings) -> None:
        marshal.install()  # request bodies without a new dataclass per call
        self.config = config
        self.session = TimeoutSession(config.timeout, config.base_url or SERVERS[0])
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(4, config.threads))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.sdk = shippo.Shippo(
            api_key_header=config.api_key,
            shippo_api_version=config.api_version,
            server_url=config.base_url,
            client=self.session,
        )
        self.capture = CaptureRaw()
        self.sdk.sdk_configuration.get_hooks().register_after_success_hook(self.capture)
        self.pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="shippo")

    async def call(self, fn: Callable[[Any], T], *, acted: bool = False) -> T:
        """Run ``fn(sdk)`` in the pool; failures come back as typed courier errors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, fn, self.sdk)
        except Exception as exc:
            raise classify(exc, acted=acted) from exc

    async def json(
        self, fn: Callable[[Any], Any], operation_id: str, *, acted: bool = False
    ) -> dict[str, Any]:
        """Run ``fn(sdk)`` in the pool and return the JSON object Shippo answered with."""
        _, raw, exc = await self.call_capturing(fn, operation_id)
        data = raw_json(raw)
        if data is None:
            if exc is None:
                raise (
                    OutcomeUnknown("shippo answered without a body")
                    if acted
                    else CourierUnavailable("shippo answered without a body")
                )
            raise classify(exc, acted=acted) from exc
        return data

    async def call_capturing(
        self, fn: Callable[[Any], T], operation_id: str
    ) -> tuple[T | None, str | None, BaseException | None]:
        """Run a call and return the raw body the server sent too, parsed by the SDK or not."""

        def run(sdk: Any) -> tuple[T | None, str | None, BaseException | None]:
            self.capture.clear()
            try:
                result = fn(sdk)
            except Exception as exc:  # classified by the caller, with the raw body in hand
                return None, self.capture.take(operation_id), exc
            return result, self.capture.take(operation_id), None

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, run, self.sdk)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()
