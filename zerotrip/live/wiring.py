"""How the live domain wires itself into a process (see :mod:`zerotrip.services`).

The aiohttp process (role ``web``: ``all`` or ``live`` in a cluster) holds the live service
that serves rooms. Every process, whatever its role, announces the end of a session to the
room's owner: a case cancelled by a clerk, a worker or a CLI command stops the owner's relay
and recording. On SQLite there is one serving process, which ends its own rooms.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from zerotrip.evidence.intake import ingest_file
from zerotrip.live.control import ControlChannel, PostgresControl, announce_end
from zerotrip.live.events import InspectionEnded
from zerotrip.live.service import LiveService

if TYPE_CHECKING:
    from zerotrip.services import Services


def build_live(services: Services) -> LiveService:
    """The live service on the process's services (the media pipeline and its analysis pools,
    the reactions other domains registered)."""
    settings = services.settings
    return LiveService(
        settings, services.db, services.clock, services.storage,
        ingest=functools.partial(
            ingest_file, services.db, services.storage, settings, pools=services.analysis
        ),
        reactions=services.reactions,
        warm_up=lambda: services.analysis.warm("live_still", "recording"),
    )  # fmt: skip


def setup(services: Services) -> None:
    control: ControlChannel
    if services.role == "web":
        services.live = build_live(services)
        control = services.live.control
    elif services.settings.is_sqlite:
        return
    else:
        control = PostgresControl(services.settings.database_url)  # publishes only
    services.reactions.on(InspectionEnded, functools.partial(announce_end, control))
