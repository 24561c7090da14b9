"""Routes that document themselves: each handler is declared with its audience, body, query
and response schemas, which both enforce access and produce the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from zerotrip.api.principal import require, require_role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUDIENCES = (
    "public",
    "signed",  # machine callers proving themselves by a signature or token the handler checks
    "signed_in",  # any staff member or applicant link, whichever case
    "staff",
    "admin",
    "applicant",
    "case",
)  # case: staff or that case's applicant


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    audience: str
    tag: str
    body: type[BaseModel] | None = None
    body_content_type: str = "application/json"
    query: type[BaseModel] | None = None
    response: dict[str, Any] | type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same body (e.g. 200 on a retry)
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()  # staff routes only some roles may use (others get 403)
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # default: id or text
    response_content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


class RouteTable:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self, method: str, path: str, *, summary: str, audience: str, **kwargs: Any
    ) -> Callable[[Handler], Handler]:
        assert audience in AUDIENCES, audience

        def register(fn: Handler) -> Handler:
            roles: tuple[str, ...] = kwargs.get("roles", ())

            async def guarded(request: web.Request) -> web.StreamResponse:
                principal = await require(request, audience)
                if roles and principal.is_staff:
                    require_role(principal, *roles)
                return await fn(request)

            guarded.__name__ = fn.__name__
            guarded.__doc__ = fn.__doc__
            self.operations.append(
                Operation(method, path, guarded, summary, audience, self.tag, **kwargs)
            )
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def add_operations(app: web.Application, tables: Iterable[RouteTable]) -> list[Operation]:
    ops: list[Operation] = []
    for table in tables:
        for op in table.operations:
            app.router.add_route(op.method, op.path, op.handler)
            ops.append(op)
    return ops
