"""Health, the OpenAPI document, problem type pages and the matters catalogue."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zerotrip.api.bodies import reply
from zerotrip.api.keys import CATALOGUE, OPERATIONS, SETTINGS
from zerotrip.api.openapi import build_openapi
from zerotrip.api.routing import RouteTable
from zerotrip.problems import NotFound, Problem

routes = RouteTable("meta")


@routes.get(
    "/api/health",
    summary="Liveness",
    audience="public",
    response={"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
)
async def health(request: web.Request) -> web.Response:
    return reply({"ok": True})


@routes.get(
    "/api/openapi.json",
    summary="This document",
    audience="public",
    response={"type": "object"},
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
    summary="The matters (kinds of permit) this office handles",
    audience="public",
    response={
        "type": "object",
        "required": ["version", "items"],
        "properties": {"version": {"type": "string"}, "items": {"type": "array"}},
    },
)
async def list_matters(request: web.Request) -> web.Response:
    catalogue = request.app[CATALOGUE]
    return reply(
        {"version": catalogue.version, "items": [m.model_dump() for m in catalogue.matters]}
    )


@routes.get(
    "/api/matters/{code}",
    summary="One matter: time limit, materials, checklist",
    audience="public",
    response={"type": "object", "required": ["code"]},
    errors=(404,),
)
async def read_matter(request: web.Request) -> web.Response:
    matter = request.app[CATALOGUE].get(request.match_info["code"])
    if matter is None:
        raise NotFound(f"No matter {request.match_info['code']!r}.")
    return reply(matter.model_dump())


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
    response={"type": "object"},
    errors=(404,),
)
async def describe_problem(request: web.Request) -> web.Response:
    info = _problem_types().get(request.match_info["slug"])
    if info is None:
        raise NotFound(f"No problem type {request.match_info['slug']!r}.")
    return reply({"type": f"/problems/{request.match_info['slug']}", **info})
