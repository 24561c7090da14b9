"""A step's rows written with compiled statements are the rows the ORM's flush writes.

Two cases made alike take the same steps, one with compiled writes and one through the ORM
(``Lifecycle.compiled_writes=False``); after every step their case rows, materials,
checkpoints, audit events (both chains verify), notifications, outbox messages and courier
orders must be the same apart from ids, references and the moment they were written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import judge_all, make_staff, walk
from tests.harness.outbox import drain
from zerotrip.api.keys import SERVICES
from zerotrip.cases import service
from zerotrip.cases.audit import next_event, verify_case
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.cases.step_params import (
    DecisionParams,
    DeliveredParams,
    InspectionResultParams,
    NoteParams,
    PrereviewParams,
    ReceiveMaterialsParams,
)
from zerotrip.cases.step_writes import write_step
from zerotrip.cases.store import lock_case
from zerotrip.kit.actor import Actor
from zerotrip.mailing.models import CourierOrder
from zerotrip.notify.models import Notification
from zerotrip.outbox.models import OutboxMessage

CLERK = Actor("staff", "1", "Clerk (clerk)")
INSPECTOR = Actor("staff", "2", "Inspector (inspector)")
IGNORED = {"id", "case_id", "reference", "hash", "prev_hash", "audit_head", "dedupe_key"}
# what differs inside payloads and orders: ids of other records (the two cases' links and
# orders are different rows, so are the courier's ids and waybills), the certificate's random
# code, its document's hash and its time of issue
IDS = {
    "link",
    "order",
    "order_id",
    "notification",
    "code",
    "sha256",
    "valid_until",
    "remote_id",
    "waybill",
}


def _same(value: Any, reference: str) -> Any:
    """``value`` with what may differ between the two cases taken out: ids, the reference
    (also inside texts), and times (only whether one is set). The hashes differ with the case
    id; each chain is verified instead."""
    if isinstance(value, datetime):
        return "set"
    if isinstance(value, str):
        if value.startswith("{"):
            return _same(json.loads(value), reference)
        return value.replace(reference, "REF")
    if isinstance(value, dict):
        return {k: _same(v, reference) for k, v in value.items() if k not in IDS}
    if isinstance(value, list):
        return [_same(v, reference) for v in value]
    return value


def _plain(row: Any, reference: str) -> dict[str, Any]:
    return {k: _same(v, reference) for k, v in row._mapping.items() if k not in IGNORED | IDS}


async def _snapshot(db, case_id: int) -> dict[str, Any]:
    tables = {
        "case": (Case, Case.__table__.c.id, "id"),
        "materials": (CaseMaterial, None, "id"),
        "checkpoints": (Checkpoint, None, "position"),
        "events": (AuditEvent, None, "seq"),
        "notifications": (Notification, None, "id"),
        "outbox": (OutboxMessage, None, "id"),
        "orders": (CourierOrder, None, "id"),
    }
    found: dict[str, Any] = {}
    async with db.session() as session:
        conn = await session.connection()
        reference = (
            await conn.execute(sa.select(Case.__table__.c.reference).where(Case.id == case_id))
        ).scalar_one()
        for name, (model, by_id, order) in tables.items():
            table = model.__table__
            column = by_id if by_id is not None else table.c.case_id
            rows = await conn.execute(
                sa.select(table).where(column == case_id).order_by(table.c[order])
            )
            found[name] = [_plain(r, reference) for r in rows]
        report = await verify_case(session, case_id)
    assert report.ok, report  # each chain verifies on its own
    return found


def _differences(fast: dict[str, Any], slow: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for name in fast:
        if len(fast[name]) != len(slow[name]):
            found.append((name, len(fast[name]), len(slow[name])))
            continue
        for n, (a, b) in enumerate(zip(fast[name], slow[name], strict=True)):
            found += [(name, n, k, a[k], b[k]) for k in a if a[k] != b[k]]
    return found


@pytest.fixture
async def quiet(apps) -> AsyncIterator[Any]:
    """The app with its outbox worker stopped: the test drains it between steps."""
    async with apps.client(outbox_worker=False) as client:
        yield client


async def test_compiled_step_writes_equal_orm_flush(quiet, db, clock):
    client = quiet
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    compiled = client.app[SERVICES].lifecycle
    orm = dataclasses.replace(compiled, compiled_writes=False)
    assert compiled.compiled_writes
    pair = [
        (await walk(client, clerk, inspector, until="submitted")).id,
        (await walk(client, clerk, inspector, until="submitted")).id,
    ]
    due = clock.today() + timedelta(days=14)

    async def both(action: str, params: Any, actor: Actor, role: str) -> None:
        for case_id, lifecycle in zip(pair, (compiled, orm), strict=True):
            await service.take_step(
                db, case_id, action, params, actor=actor, role=role, lifecycle=lifecycle
            )
        await drain(client)  # what the outbox does after the step, for both, before comparing
        fast, slow = [await _snapshot(db, case_id) for case_id in pair]
        assert _differences(fast, slow) == [], action

    await both(
        "prereview",
        PrereviewParams.model_validate(
            {
                "outcome": "accept",
                "outstanding": [{"code": "staff-health-certs", "due_date": due.isoformat()}],
            }
        ),
        CLERK,
        "clerk",
    )
    await both(
        "receive_materials",
        ReceiveMaterialsParams(codes=["layout-plan", "staff-health-certs"], channel="in_person"),
        CLERK,
        "clerk",
    )
    await both("start_inspection", NoteParams(note="上午到场"), INSPECTOR, "inspector")
    for case_id in pair:
        await judge_all(client, case_id, inspector.headers, "rectify")
    await both(
        "record_inspection",
        InspectionResultParams(result="rectify", comment="排水沟未加盖"),
        INSPECTOR,
        "inspector",
    )
    await both("resume_inspection", NoteParams(), INSPECTOR, "inspector")
    for case_id in pair:
        await judge_all(client, case_id, inspector.headers, "pass")
    await both("record_inspection", InspectionResultParams(result="pass"), INSPECTOR, "inspector")
    await both(
        "receive_materials",
        ReceiveMaterialsParams(codes=["application-form"], channel="courier"),
        CLERK,
        "clerk",
    )
    await both("approve", DecisionParams(), CLERK, "clerk")
    await both("issue_certificate", NoteParams(), CLERK, "clerk")
    await both("mark_delivered", DeliveredParams(method="courier"), CLERK, "clerk")
    await both("close", NoteParams(note="办结"), CLERK, "clerk")


async def test_returned_application_compiled_equals_orm(client, db):
    """A return writes a JSON column (the reasons) and moves the case back."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    compiled = client.app[SERVICES].lifecycle
    orm = dataclasses.replace(compiled, compiled_writes=False)
    pair = [(await walk(client, clerk, inspector, until="submitted")).id for _ in range(2)]
    params = PrereviewParams(outcome="return", reasons=["营业执照复印件不清晰", "缺少平面图"])
    for case_id, lifecycle in zip(pair, (compiled, orm), strict=True):
        await service.take_step(
            db, case_id, "prereview", params, actor=CLERK, role="clerk", lifecycle=lifecycle
        )
    fast, slow = [await _snapshot(db, case_id) for case_id in pair]
    assert _differences(fast, slow) == []
    assert fast["case"][0]["return_reasons"] == ["营业执照复印件不清晰", "缺少平面图"]
    assert fast["case"][0]["state"] == "returned"


async def test_written_rows_leave_the_session_clean(client, db):
    """After the compiled writes nothing is pending: no later flush writes the case again."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case_id = (await walk(client, clerk, inspector, until="accepted")).id
    async with db.transaction() as session:
        case = await lock_case(session, case_id)
        case.decision = "approved"  # any plain column
        event = next_event(case, CLERK, "case.test", {"n": 1}, clock_now(db))
        await write_step(session, case, event)
        assert not session.dirty and not session.new
        stored = await session.get(Case, case_id)
        assert stored is case and case.audit_seq == event["seq"]
    async with db.session() as session:
        conn = await session.connection()
        row = (await conn.execute(sa.select(Case.__table__).where(Case.id == case_id))).one()
        assert row.decision == "approved"
        assert row.audit_head == event["hash"]
        assert (await verify_case(session, case_id)).ok


async def test_a_change_of_searched_text_goes_through_the_orm(client, db):
    """The ORM hooks keep the search rows; a step that changed a searched field leaves the
    case to the ORM's flush, so the list finds the new text."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case_id = (await walk(client, clerk, inspector, until="accepted")).id
    async with db.transaction() as session:
        case = await lock_case(session, case_id)
        case.organisation = "新名字餐饮"
        event = next_event(case, CLERK, "case.test", {}, clock_now(db))
        await write_step(session, case, event)
        assert session.new  # the event waits for the flush, with the case
    resp = await client.get("/api/cases?q=新名字", headers=clerk.headers)
    assert [c["id"] for c in (await resp.json())["items"]] == [case_id]
    async with db.session() as session:
        assert (await verify_case(session, case_id)).ok


def clock_now(db) -> datetime:
    return db.clock.now()


async def test_compiled_writes_stay_inside_the_transaction(client, db):
    """Written before any other statement of the transaction, the rows still belong to it: a
    rollback leaves nothing behind (the driver is only used inside a begun transaction)."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case_id = (await walk(client, clerk, inspector, until="accepted")).id
    table = Case.__table__
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            update = db.writes.update(table, case_id, {"decision": "rejected"})
            await db.writes.execute_in(session, [update])
            raise RuntimeError("roll back")
    async with db.session() as session:
        conn = await session.connection()
        row = (await conn.execute(sa.select(table.c.decision).where(table.c.id == case_id))).one()
    assert row.decision is None
