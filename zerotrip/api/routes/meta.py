"""Health, the OpenAPI document, problem type pages and the matters catalogue."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, JsonValue

from zerotrip.admin.matters import offered_matter, offered_matters
from zerotrip.api import observability
from zerotrip.api.bodies import reply
from zerotrip.api.keys import CATALOGUE, DB, OPERATIONS, SETTINGS
from zerotrip.api.openapi import build_openapi
from zerotrip.api.routing import ACKNOWLEDGED, Acknowledged, RouteTable, respond
from zerotrip.cases.catalogue import Matter
from zerotrip.problems import NotFound, Problem

routes = RouteTable("meta")


class OpenApiDocument(BaseModel):
    """The top level of an OpenAPI 3.1 document (its parts are OpenAPI's own schema)."""

    openapi: str
    info: dict[str, JsonValue]
    servers: list[dict[str, JsonValue]]
    paths: dict[str, JsonValue]
    components: dict[str, JsonValue]


class Readiness(BaseModel):
    """Whether this process should take traffic, and each check behind the answer."""

    ready: bool
    role: str
    checks: dict[str, dict[str, JsonValue]]


class CatalogueMatter(Matter):
    """A matter as new applications get it (the office's current version)."""

    offered: bool = True  # False: withdrawn; listed only when asked for, to name running cases


class MatterList(BaseModel):
    version: str
    items: list[CatalogueMatter]


class MatterListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawn: bool = False  # also list the matters the office no longer offers


class ProblemType(BaseModel):
    type: str
    title: str
    status: int


@routes.get(
    "/api/health",
    summary="Liveness",
    audience="public",
    response=Acknowledged,
)
async def health(request: web.Request) -> Acknowledged:
    return ACKNOWLEDGED


@routes.get(
    "/api/ready",
    summary="Readiness: database, storage, outbox lag and live capacity (503 names what is not)",
    audience="public",
    response=Readiness,
    errors=(503,),
)
async def ready(request: web.Request) -> web.Response:
    readiness = Readiness.model_validate(await observability.readiness(request))
    return respond(readiness, 200 if readiness.ready else 503)


@routes.get(
    "/api/openapi.json",
    summary="This document",
    audience="public",
    response=OpenApiDocument,
)
async def openapi_document(request: web.Request) -> web.Response:
    doc = build_openapi(request.app[OPERATIONS], request.app[SETTINGS].public_url)
    # A matter code is one of the catalogue's: say which, so clients (and fuzzers) can know.
    codes = [m.code for m in request.app[CATALOGUE].matters]
    for schema in doc["components"]["schemas"].values():
        prop = schema.get("properties", {}).get("matter_code")
        if prop is not None and prop.get("type") == "string":
            prop["enum"] = codes
    return reply(doc)


@routes.get(
    "/api/matters",
    summary="The matters (kinds of permit) this office offers, each in its current version",
    audience="public",
    query=MatterListQuery,
    response=MatterList,
)
async def list_matters(request: web.Request, *, query: MatterListQuery) -> MatterList:
    catalogue = request.app[CATALOGUE]
    found = await offered_matters(request.app[DB], catalogue, withdrawn=query.withdrawn)
    # Through plain data, so that every field counts as set and none is left out.
    items = [{**m.matter.model_dump(), "offered": m.enabled} for m in found]
    return MatterList.model_validate({"version": catalogue.version, "items": items})


@routes.get(
    "/api/matters/{code}",
    summary="One matter: time limit, materials, checklist",
    audience="public",
    response=Matter,
    errors=(404,),
)
async def read_matter(request: web.Request) -> Matter:
    code = request.match_info["code"]
    matter = await offered_matter(request.app[DB], request.app[CATALOGUE], code)
    return Matter.model_validate(matter.model_dump())


def _problem_types() -> dict[str, Any]:
    found: dict[str, Any] = {}
    stack: list[type[Problem]] = [Problem]
    while stack:
        cls = stack.pop()
        found[cls.slug] = {"title": cls.title, "status": cls.status}
        stack.extend(cls.__subclasses__())
    return found


@routes.get(
    "/problems/{slug}",
    summary="What a problem type means",
    audience="public",
    response=ProblemType,
    errors=(404,),
)
async def describe_problem(request: web.Request) -> ProblemType:
    info = _problem_types().get(request.match_info["slug"])
    if info is None:
        raise NotFound(
            f"No problem type {request.match_info['slug']!r}.",
            zh=f"没有错误类型 {request.match_info['slug']}。",
        )
    return ProblemType(type=f"/problems/{request.match_info['slug']}", **info)
