"""Typed keys for what the application object holds.

Everything comes from the one :class:`~zerotrip.services.Services` the app was built with
(``SERVICES``); the other keys are shortcuts to its parts for handlers.
"""

from __future__ import annotations

from aiohttp import web

from zerotrip.api.credentials import CredentialCache
from zerotrip.api.encoding import RenderedRows
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.clock import Clock
from zerotrip.live.service import LiveService
from zerotrip.mailing.context import Mailing
from zerotrip.media.interfaces import Storage
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.services import Services

SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
CATALOGUE = web.AppKey("catalogue", Catalogue)
CALENDAR = web.AppKey("calendar", WorkingCalendar)
CLOCK = web.AppKey("clock", Clock)
OPERATIONS = web.AppKey("operations", list)
STORAGE = web.AppKey("storage", Storage)
CREDENTIALS = web.AppKey("credentials", CredentialCache)
OUTBOX = web.AppKey("outbox", OutboxWorker)
MAILING = web.AppKey("mailing", Mailing)
LIVE = web.AppKey("live", LiveService)
ROWS = web.AppKey("rendered_rows", RenderedRows)
