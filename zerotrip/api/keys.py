"""Typed keys for what the application object holds."""

from __future__ import annotations

from aiohttp import web

from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.media.interfaces import Storage
from zerotrip.outbox.worker import OutboxWorker

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
CATALOGUE = web.AppKey("catalogue", Catalogue)
CALENDAR = web.AppKey("calendar", WorkingCalendar)
CLOCK = web.AppKey("clock", Clock)
OPERATIONS = web.AppKey("operations", list)
STORAGE = web.AppKey("storage", Storage)
OUTBOX = web.AppKey("outbox", OutboxWorker)
