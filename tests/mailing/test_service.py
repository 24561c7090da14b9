"""The mailing services the API calls: an order list costs the same few queries however many
orders it shows, and each record carries its own history, dispatch message and case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from tests.factories import act, applicant_headers, apply, make_staff
from tests.harness.outbox import drain
from zerotrip.db import Database
from zerotrip.kit.clock import as_utc
from zerotrip.mailing import service


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _accepted_case(client: Any, clerk: Any) -> tuple[dict[str, Any], str]:
    case, token = await apply(client)
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    return case, token


async def test_open_orders_cost_the_same_queries_for_one_order_or_many(client, db, clock):
    clerk = await make_staff(db, "clerk")
    first, token = await _accepted_case(client, clerk)
    with counting_statements(db) as one:
        [only] = await service.open_orders(db)
    references = {first["id"]: first["reference"]}
    for _ in range(4):
        case, _ = await _accepted_case(client, clerk)
        references[case["id"]] = case["reference"]
    # The first case's order gets a pickup window: it moves on, the others still wait.
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    resp = await client.post(
        f"/api/cases/{first['id']}/mailing/orders/{only.order.id}/choice",
        json={
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=3)).isoformat(),
        },
        headers=applicant_headers(token),
    )
    assert resp.status == 200, await resp.text()

    with counting_statements(db) as many:
        records = await service.open_orders(db)

    assert len(records) == 5
    assert len(many) == len(one), "listing more orders must not cost more queries"
    by_order = {r.order.id: r for r in records}
    assert by_order[only.order.id].order.status == "queued"
    for record in records:  # each order's own dispatch message, none of another's
        assert record.message is not None
        assert record.message.dedupe_key == f"mailing.dispatch:{record.order.id}:1"
    assert {r.order.case_id: r.case_reference for r in records} == references
    for record in records:
        assert record.events, "every order has at least its creation in its history"
        assert {e.order_id for e in record.events} == {record.order.id}


async def test_the_applicant_record_carries_no_office_detail(client, db):
    clerk = await make_staff(db, "clerk")
    case, _ = await _accepted_case(client, clerk)
    records, preference = await service.case_orders(db, case["id"], staff=False)
    assert preference == "courier"
    [record] = records
    assert record.message is None and record.case_reference is None
    assert record.events and all(e.order_id == record.order.id for e in record.events)


async def test_staff_steps_change_the_order_once_and_refuse_what_no_longer_applies(client, db):
    """Reassigning and cancelling answer with the order as staff see it, each step audited on
    the case; a second cancel and a retry of a cancelled order are conflicts that change
    nothing."""
    clerk = await make_staff(db, "clerk")
    case, _ = await _accepted_case(client, clerk)
    [record] = await service.open_orders(db)
    url = f"/api/mailing/orders/{record.order.id}"

    resp = await client.post(f"{url}/reassign", json={"courier": "local"}, headers=clerk.headers)
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"{url}/cancel", json={"reason": "申请人自行递交"}, headers=clerk.headers
    )
    assert resp.status == 200, await resp.text()
    cancelled = await resp.json()
    assert cancelled["status"] == "cancelled" and cancelled["case_reference"] == case["reference"]
    assert cancelled["can_cancel"] is False and cancelled["can_retry"] is False

    for step, body in (("cancel", {"reason": "again"}), ("retry", None)):
        resp = await client.post(f"{url}/{step}", json=body, headers=clerk.headers)
        assert resp.status == 409, f"{step}: {resp.status}"
        assert resp.content_type == "application/problem+json"
    [after] = (await service.case_orders(db, case["id"], staff=True))[0]
    assert after.order.status == "cancelled"
    assert [e.status for e in after.events].count("cancelled") == 1
    audit = await (await client.get(f"/api/cases/{case['id']}/audit", headers=clerk.headers)).json()
    assert audit["verification"]["ok"]


async def test_handing_a_waiting_order_to_another_courier_keeps_the_applicants_choice(
    client, db, clock
):
    """Reassigning changes the courier only: the applicant still chooses the pickup window
    (nothing is booked on a default window before the choice time runs out)."""
    clerk = await make_staff(db, "clerk")
    case, token = await _accepted_case(client, clerk)
    [record] = await service.open_orders(db)
    due = record.message.next_attempt_at if record.message else None
    resp = await client.post(
        f"/api/mailing/orders/{record.order.id}/reassign",
        json={"courier": "local"},
        headers=clerk.headers,
    )
    assert resp.status == 200, await resp.text()
    await drain(client)
    [after] = await service.open_orders(db)
    assert after.order.status == "awaiting_choice" and not after.order.remote_id
    assert after.message is not None and due is not None
    assert as_utc(after.message.next_attempt_at) == as_utc(due)

    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    resp = await client.post(
        f"/api/cases/{case['id']}/mailing/orders/{after.order.id}/choice",
        json={
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=3)).isoformat(),
        },
        headers=applicant_headers(token),
    )
    assert resp.status == 200, await resp.text()
