"""Real records for tests: staff accounts with tokens, and cases moved to a given state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from zerotrip.accounts.service import create_staff, issue_staff_token
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
