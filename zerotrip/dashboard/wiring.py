"""How the dashboard wires itself into a service: a finished case's facts, with its last step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerotrip.cases.lifecycle import StepContext
from zerotrip.dashboard.facts import record_facts

if TYPE_CHECKING:
    from zerotrip.services import Services


def setup(services: Services) -> None:
    zone = services.clock.zone

    async def on_finished(step: StepContext) -> None:
        await record_facts(
            step.session, step.case, catalogue=step.catalogue, calendar=step.calendar, zone=zone
        )

    for action in ("close", "withdraw"):
        services.lifecycle.on_step(action, on_finished)
