"""How mailing wires itself into a service: the orders case steps create, the dispatch topics,
and the local courier's simulator and the reconciler as background work."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from zerotrip.mailing import dispatch
from zerotrip.mailing.local import run_simulator
from zerotrip.mailing.reconcile import run_reconciler
from zerotrip.mailing.triggers import OrderTriggers

if TYPE_CHECKING:
    from zerotrip.services import Services


def setup(services: Services) -> None:
    mailing = services.mailing
    OrderTriggers(mailing).register(services.lifecycle)
    dispatch.register(services.outbox, mailing)
    if services.settings.local_courier_speed > 0 and services.role != "cli":
        services.add_background(
            "local courier", functools.partial(run_simulator, mailing), once_per_cluster=True
        )
    if services.runs_workers:
        services.add_background(
            "courier reconciler", functools.partial(run_reconciler, mailing), once_per_cluster=True
        )
