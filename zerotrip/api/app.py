"""The aiohttp application: one process serving the API, the pages and (later) live sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from zerotrip.api import pages
from zerotrip.api.credentials import CredentialCache
from zerotrip.api.keys import (
    CALENDAR,
    CATALOGUE,
    CLOCK,
    CREDENTIALS,
    DB,
    OPERATIONS,
    OUTBOX,
    SETTINGS,
    STORAGE,
)
from zerotrip.api.problems import problem_middleware
from zerotrip.api.routes import (
    accounts,
    cases,
    dashboard,
    evidence,
    identity_check,
    live,
    mailing,
    mailing_callbacks,
    meta,
    notify,
    ratings,
    review,
    worklist,
)
from zerotrip.api.routing import RouteTable, add_operations
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.dashboard import facts as dashboard_facts
from zerotrip.db import Database
from zerotrip.media.interfaces import Storage
from zerotrip.media.storage_local import LocalStorage
from zerotrip.media.worker import close_pools
from zerotrip.notify import triggers as notify_triggers
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.review import certificate, fonts

log = logging.getLogger("zerotrip")

ROUTE_TABLES: list[RouteTable] = [
    meta.routes,
    accounts.routes,
    cases.routes,
    worklist.routes,
    evidence.routes,
    mailing.routes,
    mailing_callbacks.routes,
    review.routes,
    live.routes,
    ratings.routes,
    dashboard.routes,
    notify.routes,
    identity_check.routes,
]

# Domains register their outbox topics here: each is called with the worker and the app once the
# database is open (e.g. mailing registers "mailing.dispatch"; notifications theirs).
OUTBOX_SETUPS: list[Callable[[OutboxWorker, web.Application], None]] = [
    mailing.register_outbox,
    notify.setup_outbox,
]

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


async def evidence_workers(app: web.Application) -> AsyncIterator[None]:
    """Stop the evidence analysis processes when the service stops."""
    yield
    close_pools()


def make_storage(settings: Settings) -> Storage:
    if settings.storage == "local":
        assert settings.media_dir is not None
        return LocalStorage(settings.media_dir)
    if settings.storage == "s3":
        from zerotrip.media.storage_s3 import S3Storage

        return S3Storage(settings)
    raise ValueError(f"unknown storage backend {settings.storage!r}")


async def close_storage(storage: Storage) -> None:
    """Backends with connections (S3) close them; the local one has nothing to close."""
    aclose = getattr(storage, "aclose", None)
    if aclose is not None:
        await aclose()


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    await close_storage(app[STORAGE])


async def review_ctx(app: web.Application) -> AsyncIterator[None]:
    """Certificates are made inside the ``issue_certificate`` step while the app runs."""
    fonts.configure(app[SETTINGS].cjk_font)
    listener = certificate.install(app[STORAGE], app[SETTINGS].public_url)
    yield
    certificate.uninstall(listener)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the application; the schema must already be migrated (``zerotrip migrate``)."""
    app = web.Application(
        middlewares=[security_headers, problem_middleware],
        client_max_size=settings.max_json_bytes,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock(settings.timezone)
    app[CATALOGUE] = load_catalogue()
    app[CALENDAR] = WorkingCalendar.from_iso(settings.holidays, settings.extra_workdays)
    app[STORAGE] = make_storage(settings)
    app[CREDENTIALS] = CredentialCache(settings.credential_cache_seconds)
    app[OPERATIONS] = add_operations(app, ROUTE_TABLES)
    dashboard_facts.install(settings.timezone)
    notify_triggers.install()
    pages.add_routes(app)

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[DB] = Database(settings)
        yield
        await app[DB].dispose()

    async def outbox(app: web.Application) -> AsyncIterator[None]:
        worker = OutboxWorker(app[DB], settings, app[CLOCK])
        for setup in OUTBOX_SETUPS:
            setup(worker, app)
        app[OUTBOX] = worker
        task = asyncio.create_task(worker.run()) if settings.outbox_worker else None
        yield
        worker.stop()
        if task is not None:
            await task

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(storage_ctx)
    app.cleanup_ctx.append(review_ctx)
    app.cleanup_ctx.append(evidence_workers)
    app.cleanup_ctx.append(mailing.mailing_context)
    app.cleanup_ctx.append(outbox)
    live.setup(app)  # after the database: its shutdown finalizes recordings first
    return app
