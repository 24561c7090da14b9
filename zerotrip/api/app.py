"""The aiohttp application: one process serving the API, the pages and (later) live sessions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from zerotrip.api import observability, pages
from zerotrip.api.credentials import CredentialCache
from zerotrip.api.encoding import RenderedRows
from zerotrip.api.keys import (
    CALENDAR,
    CATALOGUE,
    CLOCK,
    CREDENTIALS,
    DB,
    MAILING,
    OPERATIONS,
    OUTBOX,
    ROWS,
    SERVICES,
    SETTINGS,
    STORAGE,
)
from zerotrip.api.observability import observe
from zerotrip.api.problems import problem_middleware
from zerotrip.api.routes import (
    accounts,
    admin,
    cases,
    dashboard,
    evidence,
    identity_check,
    jobs,
    live,
    live_party,
    live_socket,
    mailing,
    mailing_callbacks,
    materials,
    meta,
    notify,
    office_setup,
    ratings,
    review,
    worklist,
)
from zerotrip.api.routing import RouteTable, add_operations
from zerotrip.api.throttling import THROTTLE, Throttle
from zerotrip.config import Settings
from zerotrip.kit.clock import Clock
from zerotrip.services import Services, build_services

log = logging.getLogger("zerotrip")

ROUTE_TABLES: tuple[RouteTable, ...] = (
    meta.routes,
    accounts.routes,
    admin.routes,
    office_setup.routes,
    cases.routes,
    materials.routes,
    worklist.routes,
    evidence.routes,
    mailing.routes,
    mailing_callbacks.routes,
    review.routes,
    live.routes,
    live_socket.routes,
    live_party.routes,
    ratings.routes,
    dashboard.routes,
    notify.routes,
    identity_check.routes,
    jobs.routes,
)

_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


@web.middleware
async def security_headers(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Applicant links carry their token in the path: never leak it to another site.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", _CSP)
    if request.path.startswith("/api/") or request.path.startswith("/a/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the application on its own services; the schema must already be migrated
    (``zerotrip migrate``)."""
    app = web.Application(
        middlewares=[observe, security_headers, problem_middleware],
        client_max_size=settings.max_json_bytes,
    )
    services = build_services(settings, role="web", clock=clock)
    app[SERVICES] = services
    app[SETTINGS] = settings
    app[CLOCK] = services.clock
    app[CATALOGUE] = services.catalogue
    app[CALENDAR] = services.calendar
    app[STORAGE] = services.storage
    app[DB] = services.db
    app[OUTBOX] = services.outbox
    app[MAILING] = services.mailing
    app[CREDENTIALS] = CredentialCache(settings.credential_cache_seconds)
    app[THROTTLE] = Throttle(settings)
    app[ROWS] = RenderedRows()
    app[OPERATIONS] = add_operations(app, ROUTE_TABLES)
    pages.add_routes(app)
    observability.setup(app)
    app.cleanup_ctx.append(_running(services))
    live.setup(app)  # after the services: its shutdown finalizes recordings first
    return app


def _running(services: Services) -> Callable[[web.Application], AsyncIterator[None]]:
    """Background work while the app serves; everything the services hold released after."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        await services.start()
        yield
        await services.close()

    return context
