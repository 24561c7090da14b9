"""Real records for tests: staff accounts with tokens, applications, and cases walked to any
state of the lifecycle through the API (:func:`walk`, :func:`advance`), the way the office
and the applicant would take them there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp.test_utils import TestClient

from zerotrip.accounts.service import create_staff, issue_staff_token
from zerotrip.cases.models import CaseState
from zerotrip.db import Database

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_staff(db: Database, role: str, username: str | None = None) -> Staff:
    username = username or role
    async with db.transaction() as session:
        user = await create_staff(session, username, username.title(), role, PASSWORD)
        issued = await issue_staff_token(session, user, "api", hours=None)
    return Staff(username, role, issued.token)


def applicant_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


APPLICATION: dict[str, Any] = {
    "matter_code": "food-business",
    "applicant_name": "李娜",
    "applicant_phone": "+86 138 0000 0000",
    "applicant_email": "li.na@example.com",
    "organisation": "李记小面馆",
    "premises_address": "浙江省杭州市西湖区文三路 90 号",
    "premises_lat": 30.2741,
    "premises_lon": 120.1551,
}


async def apply(client: TestClient, **overrides: Any) -> tuple[dict[str, Any], str]:
    """Submit an application as the applicant; return the case view and the link token."""
    resp = await client.post("/api/applications", json={**APPLICATION, **overrides})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return body["case"], body["applicant_token"]


async def act(
    client: TestClient, case_id: int, action: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    resp = await client.post(f"/api/cases/{case_id}/actions/{action}", json=params, headers=headers)
    assert resp.status == 200, f"{action}: {resp.status} {await resp.text()}"
    return await resp.json()


async def judge_all(
    client: TestClient, case_id: int, headers: dict[str, str], verdict: str = "pass"
) -> None:
    """Give every checkpoint of the case the same verdict (the inspection result must agree)."""
    resp = await client.get(f"/api/cases/{case_id}", headers=headers)
    for cp in (await resp.json())["checkpoints"]:
        if cp["verdict"] is not None:
            continue
        body = {"verdict": verdict, "comment": "" if verdict == "pass" else "见照片 see photo"}
        resp = await client.post(
            f"/api/cases/{case_id}/checkpoints/{cp['id']}/verdict", json=body, headers=headers
        )
        assert resp.status == 201, await resp.text()


class Walked(NamedTuple):
    """A case :func:`walk` took somewhere: its view (as staff see it) and the applicant's token."""

    view: dict[str, Any]
    token: str

    @property
    def id(self) -> int:
        return int(self.view["id"])

    @property
    def applicant_headers(self) -> dict[str, str]:
        return applicant_headers(self.token)


async def walk(
    client: TestClient,
    clerk: Staff,
    inspector: Staff,
    *,
    until: str = "delivered",
    result: str = "pass",
    rectify_rounds: int = 0,
    **application: Any,
) -> Walked:
    """Apply (``application`` overrides the standard one) and take the case to ``until``.

    Any state can be reached: see :func:`advance` for the route and what ``result`` and
    ``rectify_rounds`` choose.
    """
    case, token = await apply(client, **application)
    view = await advance(
        client,
        case["id"],
        clerk,
        inspector,
        until=until,
        result=result,
        rectify_rounds=rectify_rounds,
    )
    return Walked(view, token)


async def advance(
    client: TestClient,
    case_id: int,
    clerk: Staff,
    inspector: Staff,
    *,
    until: str,
    result: str = "pass",
    rectify_rounds: int = 0,
    receive_paper: bool = True,
) -> dict[str, Any]:
    """Take an existing case, one real step at a time, from where it is to ``until``.

    The route is the ordinary one (:func:`_next_step`): pre-review accepts, the inspector gives
    every checkpoint a verdict and records the result, the clerk receives the paper still
    pending, approves, issues, marks delivered and closes. ``result="fail"`` fails the
    inspection (``rejected`` is then reached from ``inspected``, otherwise from ``accepted``);
    ``rectify_rounds`` sends the inspection through that many rectify-and-resume rounds first.
    With ``receive_paper=False`` nobody signs for paper by hand (the courier must have brought
    it). Every step must succeed, so a walk also checks that the ordinary route still works.
    """
    view = await _view(client, case_id, clerk)
    rectify_left = rectify_rounds
    for _ in range(2 * len(CaseState) + 2 * rectify_rounds):
        if view["state"] == until:
            return view
        rectify = rectify_left > 0 or until == "rectifying"
        step = _next_step(view["state"], until, result, rectify)
        staff = inspector if step.by == "inspector" else clerk
        if step.action == "record_inspection":
            await judge_all(client, case_id, staff.headers, step.params["result"])
            rectify_left -= step.params["result"] == "rectify"
        if step.action == "approve" and receive_paper:
            await _receive_pending(client, case_id, clerk, view)
        view = await act(client, case_id, step.action, staff.headers, **step.params)
    raise AssertionError(f"case {case_id} did not reach {until!r}: it is {view['state']!r}")


@dataclass(frozen=True)
class _Step:
    action: str
    by: str  # "clerk" or "inspector"
    params: dict[str, Any]


def _next_step(state: str, until: str, result: str, rectify: bool) -> _Step:
    """The one step that takes a case in ``state`` towards ``until``."""
    if state == "submitted":
        if until == "returned":
            return _Step("prereview", "clerk", {"outcome": "return", "reasons": ["材料不全"]})
        if until == "withdrawn":
            return _Step("withdraw", "clerk", {})
        return _Step("prereview", "clerk", {"outcome": "accept"})
    if state == "returned":
        return _Step(
            {"closed": "close", "withdrawn": "withdraw"}.get(until, "resubmit"), "clerk", {}
        )
    if state == "accepted":
        if until == "withdrawn":
            return _Step("withdraw", "clerk", {})
        if until == "rejected" and result != "fail":
            return _Step("reject", "clerk", {"reasons": ["不符合条件"]})
        return _Step("start_inspection", "inspector", {})
    if state == "inspecting":
        return _Step("record_inspection", "inspector", {"result": "rectify" if rectify else result})
    if state == "rectifying":
        return _Step("resume_inspection", "inspector", {})
    if state == "inspected" and until == "rejected":
        return _Step("reject", "clerk", {"reasons": ["踏勘不合格"]})
    following = {
        "inspected": "approve",
        "approved": "issue_certificate",
        "certificate_issued": "mark_delivered",
        "delivered": "close",
        "rejected": "close",
    }
    if state not in following:
        raise AssertionError(f"no ordinary route from {state!r} to {until!r}")
    return _Step(following[state], "clerk", {})


async def _view(client: TestClient, case_id: int, staff: Staff) -> dict[str, Any]:
    resp = await client.get(f"/api/cases/{case_id}", headers=staff.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _receive_pending(
    client: TestClient, case_id: int, clerk: Staff, view: dict[str, Any]
) -> None:
    """The paper still expected (or outstanding) arrives by courier, so the case can be approved."""
    pending = [m["code"] for m in view["materials"] if m["status"] != "received"]
    if pending:
        await act(
            client, case_id, "receive_materials", clerk.headers, codes=pending, channel="courier"
        )
