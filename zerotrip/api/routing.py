"""Routes that document themselves: each handler is declared with its audience, body, query
and response schemas, which both enforce access and produce the OpenAPI document.

The declaration is also what runs: before a handler is called, the caller is checked against
the audience and roles, an applicant against the case in the path, a member of
departments against the case any path parameter belongs to (:mod:`zerotrip.api.case_scope`),
and the query and the JSON
body are parsed into their declared models, each once. A handler names what it needs as
keyword parameters (``principal``, ``query``, ``body``) and may return a response model, which
is sent with the declared status.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from zerotrip.api.bodies import parse_body, parse_query, path_int
from zerotrip.api.case_scope import refuse_other_departments
from zerotrip.api.encoding import json_response
from zerotrip.api.keys import SETTINGS
from zerotrip.api.principal import Principal, authorize_case, require, require_role
from zerotrip.config import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DeclaredHandler = Callable[..., Awaitable[web.StreamResponse | BaseModel]]
AUDIENCES = (
    "public",
    "signed",  # machine callers proving themselves by a signature or token the handler checks
    "signed_in",  # any staff member or applicant link, whichever case
    "staff",
    "admin",
    "applicant",
    "case",
)  # case: staff or that case's applicant
INJECTED = frozenset({"principal", "query", "body"})


class Acknowledged(BaseModel):
    """The answer of a call whose only news is that it was done."""

    ok: Literal[True]


ACKNOWLEDGED = Acknowledged(ok=True)


def json_body_limit(settings: Settings) -> int:
    return settings.max_json_bytes


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
    # The handler reads the body itself: raw uploads, and callbacks whose signature covers the
    # exact bytes. Otherwise a declared JSON body is parsed before the handler runs.
    raw_body: bool = False
    body_max_bytes: Callable[[Settings], int] = json_body_limit
    query: type[BaseModel] | None = None
    response: dict[str, Any] | type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same body (e.g. 200 on a retry)
    # 202 with this body: the route may hand its work to a job (see zerotrip/api/routes/jobs.py)
    accepted: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()  # staff routes only some roles may use (others get 403)
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # default: id or text
    response_content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def parses_body(self) -> bool:
        return (
            self.body is not None
            and not self.raw_body
            and isinstance(self.body, type)
            and issubclass(self.body, BaseModel)
        )


def respond(model: BaseModel, status: int = 200) -> web.Response:
    """Send a response model as JSON. Fields left unset are left out: that is how a view for
    the applicant omits what only staff see, while the schema documents them as optional."""
    data = model.model_dump(mode="python", exclude_unset=True, by_alias=True)
    return json_response(data, status)


def _guard(op: Operation, fn: DeclaredHandler) -> Handler:
    wanted = set(inspect.signature(fn).parameters) & INJECTED
    assert ("body" in wanted) == op.parses_body, f"{fn.__name__}: body declared vs parameter"
    assert ("query" in wanted) == (op.query is not None), f"{fn.__name__}: query vs parameter"
    # A case in the path is the case the caller must be allowed: an applicant only their own.
    checks_case = "{case_id}" in op.path and op.audience not in ("public", "signed")

    async def guarded(request: web.Request) -> web.StreamResponse:
        principal = await require(request, op.audience)
        if op.roles and principal.is_staff:
            require_role(principal, *op.roles)
        if checks_case:
            authorize_case(principal, path_int(request, "case_id"))
        if principal.user is not None and op.audience not in ("public", "signed"):
            await refuse_other_departments(request, principal.user)
        given: dict[str, Principal | BaseModel] = {}
        if "principal" in wanted:
            given["principal"] = principal
        if op.query is not None:
            given["query"] = parse_query(request, op.query)
        if op.parses_body:
            assert op.body is not None and issubclass(op.body, BaseModel)
            limit = op.body_max_bytes(request.app[SETTINGS])
            given["body"] = await parse_body(request, op.body, limit)
        result = await fn(request, **given)
        if isinstance(result, BaseModel):
            return respond(result, op.status)
        return result

    guarded.__name__ = fn.__name__
    guarded.__doc__ = fn.__doc__
    return guarded


class RouteTable:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self, method: str, path: str, *, summary: str, audience: str, **kwargs: Any
    ) -> Callable[[DeclaredHandler], DeclaredHandler]:
        assert audience in AUDIENCES, audience

        def register(fn: DeclaredHandler) -> DeclaredHandler:
            declared = Operation(method, path, fn, summary, audience, self.tag, **kwargs)  # type: ignore[arg-type]
            guarded = _guard(declared, fn)
            self.operations.append(
                Operation(method, path, guarded, summary, audience, self.tag, **kwargs)
            )
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[DeclaredHandler], DeclaredHandler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[DeclaredHandler], DeclaredHandler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[DeclaredHandler], DeclaredHandler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[DeclaredHandler], DeclaredHandler]:
        return self.route("DELETE", path, **kw)


def add_operations(app: web.Application, tables: Iterable[RouteTable]) -> list[Operation]:
    ops: list[Operation] = []
    for table in tables:
        for op in table.operations:
            app.router.add_route(op.method, op.path, op.handler)
            ops.append(op)
    return ops
