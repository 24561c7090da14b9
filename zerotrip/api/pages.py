"""The pages: plain HTML and ES modules, served by the same app (no build step)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).with_name("static")

PAGES = {
    "/": "index.html",
    "/apply": "apply.html",
    "/staff/login": "staff-login.html",
    "/staff": "staff-cases.html",
    "/staff/cases/{case_id:\\d+}": "staff-case.html",
    "/staff/mailing": "staff-mailing.html",
    "/a/{token}": "applicant.html",
    "/staff/dashboard": "staff-dashboard.html",
    "/staff/rectifications": "staff-rectifications.html",
    "/staff/admin": "staff-admin.html",
    "/verify/{code}": "verify.html",
}


def _page(name: str) -> web.RequestHandler:
    path = STATIC_DIR / name

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": "text/html; charset=utf-8"})

    handler.__name__ = f"page_{name.split('.')[0].replace('-', '_')}"
    return handler


def add_routes(app: web.Application) -> None:
    for route, name in PAGES.items():
        app.router.add_get(route, _page(name))
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
