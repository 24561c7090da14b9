"""The composition root: everything one process holds, built once per process role.

:func:`build_services` turns :class:`~zerotrip.config.Settings` (and, in tests, a clock) into one
:class:`Services` object: the database, storage, couriers, notifier, clock, the evidence
analysis pools, the catalogue and working calendar, the reactions other domains registered on
lifecycle steps and domain events, the outbox topics and the background tasks. Each domain
registers its own part through its ``wiring.setup(services)`` (as Warehouse's ``includeme``);
nothing is registered on a module, so two services in one process never see each other's
reactions, and the web app, a CLI command and a worker process react to a step identically.

Roles: ``web`` (the aiohttp app; background work runs in it when ``Settings.outbox_worker``),
``worker`` (the outbox, the reconciler, the simulator and the job queue, no HTTP) and ``cli``
(one command: reactions yes, background work no).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from zerotrip.accounts import wiring as accounts_wiring
from zerotrip.admin import wiring as admin_wiring
from zerotrip.cases.catalogue import Catalogue, load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.lifecycle import Lifecycle
from zerotrip.config import Settings
from zerotrip.dashboard import wiring as dashboard_wiring
from zerotrip.db import Database
from zerotrip.jobs import wiring as jobs_wiring
from zerotrip.jobs.queue import JobQueue
from zerotrip.jobs.runner import JobRunner
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
from zerotrip.leases import run_with_lease
from zerotrip.live import wiring as live_wiring
from zerotrip.mailing import wiring as mailing_wiring
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.couriers import build_couriers
from zerotrip.media.ingest import analysis_pools
from zerotrip.media.interfaces import Storage
from zerotrip.media.storage_local import LocalStorage
from zerotrip.media.worker import AnalysisPools
from zerotrip.notify import wiring as notify_wiring
from zerotrip.notify.channels import make_notifier
from zerotrip.notify.interfaces import Notifier
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.review import wiring as review_wiring
from zerotrip.review.fonts import FontChoice, find_font
from zerotrip.worklist import wiring as worklist_wiring

if TYPE_CHECKING:
    from zerotrip.live.service import LiveService

log = logging.getLogger("zerotrip.services")

Role = Literal["web", "worker", "cli"]
RunUntil = Callable[[asyncio.Event], Awaitable[None]]

# The domains that wire themselves in, in order: reactions to one step run in this order (the
# certificate exists before the delivery order and the message that mention it).
DOMAIN_SETUPS: tuple[Callable[[Services], None], ...] = (
    accounts_wiring.setup,
    admin_wiring.setup,
    worklist_wiring.setup,
    review_wiring.setup,
    mailing_wiring.setup,
    notify_wiring.setup,
    dashboard_wiring.setup,
    live_wiring.setup,
    jobs_wiring.setup,
)


@dataclass(frozen=True)
class Background:
    """A loop that runs while the service runs and returns soon after ``stop`` is set."""

    name: str
    run: RunUntil
    once_per_cluster: bool = False


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


@dataclass(eq=False)
class Services:
    """What one process holds; domains add their parts in ``setup()``, nothing else does."""

    role: Role
    settings: Settings
    clock: Clock
    catalogue: Catalogue
    calendar: WorkingCalendar
    db: Database
    storage: Storage
    analysis: AnalysisPools
    reactions: Reactions
    outbox: OutboxWorker
    mailing: Mailing
    notifier: Notifier
    jobs: JobRunner  # CPU-heavy work (report signing, bundles): queued by web, run by workers
    live: LiveService | None = None  # the aiohttp process's rooms (see zerotrip.live.wiring)
    background: list[Background] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _closed: bool = field(default=False, init=False)

    @functools.cached_property
    def lifecycle(self) -> Lifecycle:
        """What taking a case step needs, with this service's reactions."""
        return Lifecycle(self.catalogue, self.calendar, self.clock, self.reactions)

    @functools.cached_property
    def font(self) -> FontChoice:
        """The CJK font certificates, reports and annotated images are written with."""
        return find_font(self.settings.cjk_font)

    @property
    def runs_workers(self) -> bool:
        """Whether this process runs the outbox and the reconciler (a worker always; the web
        app when configured to, which is the embedded one-process default)."""
        if self.role == "worker":
            return True
        # A web or live process of a cluster (Settings.role) leaves background work to workers.
        return self.role == "web" and self.settings.role == "all" and self.settings.outbox_worker

    def add_background(self, name: str, run: RunUntil, *, once_per_cluster: bool = False) -> None:
        """``once_per_cluster``: periodic work (a reconciler) that must not run in every process
        at once; it runs only in the process holding its lease (see :mod:`zerotrip.leases`)."""
        self.background.append(Background(name, run, once_per_cluster))

    async def start(self) -> None:
        """Start the background work this role runs (nothing for ``cli``)."""
        self._stop.clear()
        for job in self.background:
            self._tasks.append(asyncio.create_task(self._guarded(job), name=job.name))

    async def _guarded(self, job: Background) -> None:
        try:
            if job.once_per_cluster:
                await run_with_lease(self.db, job.name, job.run, self._stop)
            else:
                await job.run(self._stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background %s stopped", job.name)

    async def close(self) -> None:
        """Stop background work, then release what this service holds (and only that)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.outbox.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        try:
            await self.mailing.close()  # the couriers' HTTP sessions
        except Exception:
            log.exception("closing the couriers failed; the rest is released anyway")
        self.analysis.close()
        try:
            await close_storage(self.storage)
        except Exception:
            log.exception("closing the storage backend failed; the rest is released anyway")
        await self.db.dispose()

    async def __aenter__(self) -> Services:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def build_services(
    settings: Settings, *, role: Role = "web", clock: Clock | None = None
) -> Services:
    """Build the one object a process of ``role`` runs on; the schema must be migrated."""
    clock = clock or Clock(settings.timezone)
    catalogue = load_catalogue()
    calendar = WorkingCalendar.from_iso(settings.holidays, settings.extra_workdays)
    db = Database(settings, clock)
    reactions = Reactions()
    services = Services(
        role=role,
        settings=settings,
        clock=clock,
        catalogue=catalogue,
        calendar=calendar,
        db=db,
        storage=make_storage(settings),
        analysis=analysis_pools(settings),
        reactions=reactions,
        outbox=OutboxWorker(db, settings, clock),
        mailing=Mailing(
            db, settings, clock, catalogue, calendar, build_couriers(settings), reactions
        ),
        notifier=make_notifier(settings),
        jobs=JobRunner(JobQueue(db, settings, clock)),
    )
    for setup in DOMAIN_SETUPS:
        setup(services)
    if services.runs_workers:
        services.add_background("outbox", _outbox_until(services.outbox))
    return services


def _outbox_until(worker: OutboxWorker) -> RunUntil:
    async def run(stop: asyncio.Event) -> None:
        task = asyncio.create_task(worker.run())
        await stop.wait()
        worker.stop()
        await task

    return run
