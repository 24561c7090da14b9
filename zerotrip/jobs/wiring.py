"""How the job queue wires itself into a service: the kinds it runs, and the runner as
background work in the processes that run workers (``worker``, and ``all`` by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerotrip.jobs.kinds import EXPORT_BUNDLE, SIGN_REPORT, ExportBundle, SignReport

if TYPE_CHECKING:
    from zerotrip.services import Services


def setup(services: Services) -> None:
    runner = services.jobs
    runner.register(SIGN_REPORT, SignReport(services))
    runner.register(EXPORT_BUNDLE, ExportBundle(services))
    if services.runs_workers:
        # Not once per cluster: every worker claims jobs, side by side.
        services.add_background("jobs", runner.run)
