"""The composition root: every process role reacts to a case step the same way, and two services
in one process share nothing they hold.

Both the web app and a CLI command or worker are built by :func:`zerotrip.services.build_services`;
the reactions (certificate, courier order, notification, dashboard facts) are registered on
that object, never on a module. The tests below would fail if a reaction were registered
per process (two apps: two certificates) or only by the web app (CLI: none).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from tests.factories import apply, make_staff, walk
from tests.harness.databases import fresh_settings
from tests.media import samples
from zerotrip.accounts.models import StaffToken
from zerotrip.api.keys import SERVICES
from zerotrip.cases.lifecycle import parse_params, perform
from zerotrip.cases.models import AuditEvent, Case
from zerotrip.config import Settings
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.db import Database, retry_on_conflict
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import as_utc
from zerotrip.mailing.models import CourierOrder
from zerotrip.notify.models import Notification
from zerotrip.outbox.models import OutboxMessage
from zerotrip.review.models import Certificate
from zerotrip.services import Services, build_services

CLERK = Actor("staff", "", "Clerk (clerk)")


@pytest.fixture
async def settings(database_template: str, tmp_path: Path) -> Settings:
    """Messages go out by e-mail (so they are queued in the outbox, not only recorded), and no
    background loop runs: what is queued stays visible to the assertions."""
    base = await fresh_settings(database_template, tmp_path)
    return dataclasses.replace(base, notifier="email", outbox_worker=False)


async def _footprint(db: Database, case_id: int) -> dict[str, object]:
    """Everything the reactions to a case's steps leave behind, comparable across cases."""
    async with db.session() as session:
        events = (
            await session.exec(
                select(AuditEvent.kind)
                .where(AuditEvent.case_id == case_id)
                .order_by(col(AuditEvent.seq))
            )
        ).all()
        certificates = (
            await session.exec(select(Certificate).where(Certificate.case_id == case_id))
        ).all()
        orders = (
            await session.exec(select(CourierOrder.kind).where(CourierOrder.case_id == case_id))
        ).all()
        notes = (
            await session.exec(
                select(Notification.topic, Notification.status).where(
                    Notification.case_id == case_id
                )
            )
        ).all()
        outbox = (
            await session.exec(select(OutboxMessage.topic).where(OutboxMessage.case_id == case_id))
        ).all()
        metrics = await session.get(CaseMetrics, case_id)
    return {
        "events": list(events),
        "certificates": len(certificates),
        "codes": sorted(c.code for c in certificates),
        "orders": Counter(orders),
        "notifications": Counter(notes),
        "outbox": Counter(outbox),
        "facts": None if metrics is None else (metrics.outcome, metrics.courier_orders),
    }


async def _take(services: Services, case_id: int, action: str, **params: object) -> None:
    """One step as a command-line or worker process takes it: on its own services."""

    async def attempt() -> None:
        async with services.db.transaction() as session:
            await perform(
                session,
                case_id,
                action,
                parse_params(action, params),
                actor=CLERK,
                role="clerk",
                lifecycle=services.lifecycle,
            )

    await retry_on_conflict(attempt)


def _analyse_one(services: Services, folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "photo.jpg"
    photo.write_bytes(samples.jpeg_bytes((640, 480)))
    return services.analysis.lane("capture").run_blocking(photo, "image", "JPEG", folder)


async def test_two_apps_in_one_process_issue_one_certificate_each(apps, db, tmp_path):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    first = TestClient(TestServer(apps.build(), host="127.0.0.1"))
    second = TestClient(TestServer(apps.build(), host="127.0.0.1"))
    await first.start_server()
    await second.start_server()
    try:
        a, b = first.app[SERVICES], second.app[SERVICES]
        assert a is not b and a.analysis is not b.analysis and a.reactions is not b.reactions
        case_a, _ = await walk(first, clerk, inspector, until="certificate_issued")
        case_b, _ = await walk(second, clerk, inspector, until="certificate_issued")
        assert case_a["state"] == case_b["state"] == "certificate_issued"
        seen_a, seen_b = await _footprint(db, case_a["id"]), await _footprint(db, case_b["id"])
        for seen in (seen_a, seen_b):
            assert seen["certificates"] == 1
            assert seen["events"].count("certificate.issued") == 1  # type: ignore[attr-defined]
            assert seen["orders"] == Counter({"pickup": 1, "delivery": 1})
            assert seen["notifications"][("certificate.issued", "queued")] == 1  # type: ignore[index]
        assert seen_a["codes"] != seen_b["codes"]

        # Both pools have running workers; closing the first app stops only its own.
        assert _analyse_one(a, tmp_path / "a")["ok"]
        assert _analyse_one(b, tmp_path / "b")["ok"]
        await first.close()
        with pytest.raises(RuntimeError):  # its pool is shut down with it
            await a.analysis.lane("capture").run(
                tmp_path / "a" / "photo.jpg", "image", "JPEG", tmp_path
            )
        assert _analyse_one(b, tmp_path / "b-after")["ok"]
        resp = await second.get("/api/health")
        assert resp.status == 200
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("role", ["cli", "worker"])
async def test_steps_taken_outside_the_app_react_exactly_as_through_the_api(
    client, db, settings, role
):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    through_api, _ = await walk(client, clerk, inspector, until="closed")
    elsewhere, _ = await walk(client, clerk, inspector, until="approved")

    services = build_services(settings, role=role)
    try:
        assert services is not client.app[SERVICES]
        await _take(services, elsewhere["id"], "issue_certificate")
        after_issue = await _footprint(db, elsewhere["id"])
        await _take(services, elsewhere["id"], "mark_delivered", method="courier")
        await _take(services, elsewhere["id"], "close")
    finally:
        await services.close()

    # The moment the certificate is issued: made, delivery order queued, applicant message queued.
    assert after_issue["certificates"] == 1
    assert after_issue["orders"]["delivery"] == 1  # type: ignore[index]
    assert after_issue["outbox"]["mailing.dispatch"] >= 1  # type: ignore[index]
    assert after_issue["notifications"][("certificate.issued", "queued")] == 1  # type: ignore[index]
    assert after_issue["facts"] is None  # not finished yet

    api, other = await _footprint(db, through_api["id"]), await _footprint(db, elsewhere["id"])
    assert other["facts"] == api["facts"] == ("approved", 2)
    for key in ("events", "certificates", "orders", "notifications", "outbox"):
        assert other[key] == api[key], key


async def test_a_worker_process_delivers_what_the_web_app_queued(apps, db, settings):
    """The web app runs no background loop here (``outbox_worker=False``); a ``worker`` built
    from the same settings picks up the courier order the step queued, and stops when closed."""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    async with apps.client() as client:
        case, _ = await walk(client, clerk, inspector, until="certificate_issued")
    worker = build_services(dataclasses.replace(settings, outbox_poll_s=0.1), role="worker")
    assert [job.name for job in worker.background] == [
        "throttle pruner",
        "calendar",
        "courier reconciler",
        "jobs",
        "job retention",
        "outbox",
    ]
    async with worker:
        for _ in range(200):
            async with db.session() as session:
                delivery = (
                    await session.exec(
                        select(CourierOrder).where(
                            CourierOrder.case_id == case["id"], CourierOrder.kind == "delivery"
                        )
                    )
                ).one()
            if delivery.remote_id:
                break
            await asyncio.sleep(0.1)
    assert delivery.remote_id and delivery.status != "queued", delivery
    assert worker._tasks == []  # closing stopped and awaited every loop


async def test_records_are_stamped_by_the_service_clock(client, db, clock):
    """One clock: with the service's clock moved on (as a test or a demo moves it), a new
    case, its audit events and a staff sign-in are all stamped by it, not by the wall clock."""
    clock.advance(timedelta(days=40))
    await make_staff(db, "clerk")
    case, _ = await apply(client)
    async with db.session() as session:
        stored = await session.get(Case, case["id"])
        events = (await session.exec(select(AuditEvent))).all()
        tokens = (await session.exec(select(StaffToken))).all()
    stamps = [stored.submitted_at, *(e.at for e in events), *(t.created_at for t in tokens)]
    assert events and tokens
    for at in stamps:
        assert abs(as_utc(at) - clock.now()) < timedelta(minutes=5), at
