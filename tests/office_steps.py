"""Walking real cases through the lifecycle over the API, for the office features' tests."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.factories import Staff, act, apply, judge_all

ALL_MATERIALS = {
    "food-business": [
        "application-form",
        "layout-plan",
        "staff-health-certs",
    ],
}


async def walk(
    client: TestClient,
    clerk: Staff,
    inspector: Staff,
    *,
    until: str = "delivered",
    **application: Any,
) -> tuple[dict[str, Any], str]:
    """Apply and take the case step by step until ``until`` (a state); return (view, token)."""
    case, token = await apply(client, **application)
    cid = case["id"]
    params: dict[str, Any] = {"outcome": "accept"}
    view = await act(client, cid, "prereview", clerk.headers, **params)
    steps: list[tuple[str, Staff, dict[str, Any]]] = [
        ("start_inspection", inspector, {}),
        ("record_inspection", inspector, {"result": "pass"}),
        (
            "receive_materials",
            clerk,
            {"codes": ALL_MATERIALS["food-business"], "channel": "courier"},
        ),
        ("approve", clerk, {}),
        ("issue_certificate", clerk, {}),
        ("mark_delivered", clerk, {"method": "courier"}),
        ("close", clerk, {}),
    ]
    for action, who, extra in steps:
        if view["state"] == until:
            break
        if action == "record_inspection":
            await judge_all(client, cid, who.headers, "pass")
        view = await act(client, cid, action, who.headers, **extra)
    return view, token
