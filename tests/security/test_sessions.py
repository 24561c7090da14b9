"""Sessions and tokens (ASVS V2.1, V3.3, V3.5): a one-time password opens only its own change,
a password change ends every other credential of the account, API tokens expire by default and
can be listed and revoked by their owner, and signing out with a bearer token revokes it.

Each test drives the real server over HTTP with real cookies and bearer tokens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from tests.factories import PASSWORD, make_staff
from zerotrip.accounts.events import PASSWORD_CHANGED, events_of_kind
from zerotrip.accounts.models import StaffUser
from zerotrip.accounts.service import bootstrap_admin
from zerotrip.api.keys import SETTINGS

NEW_PASSWORD = "lantern orchard violet 7"


async def log_in(client: TestClient, username: str, password: str) -> tuple[str, str]:
    """A fresh cookie session: (cookie value, CSRF token); the client's jar is left empty."""
    resp = await client.post("/api/session", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    csrf = (await resp.json())["csrf_token"]
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["zt_session"].value
    client.session.cookie_jar.clear()
    return cookie, csrf


def as_session(cookie: str, csrf: str) -> dict[str, Any]:
    return {"cookies": {"zt_session": cookie}, "headers": {"X-CSRF-Token": csrf}}


async def test_a_one_time_password_opens_nothing_but_its_change(client, db):
    async with db.transaction() as session:
        password = await bootstrap_admin(session)
    assert password
    cookie, csrf = await log_in(client, "admin", password)
    s = as_session(cookie, csrf)
    refused = [
        await client.get("/api/users", **s),
        await client.get("/api/cases", **s),
        await client.get("/api/tokens", **s),
        await client.post("/api/tokens", json={"label": "forever"}, **s),
        await client.post(
            "/api/users",
            json={
                "username": "li",
                "display_name": "Li",
                "role": "admin",
                "password": NEW_PASSWORD,
            },
            **s,
        ),
    ]
    for resp in refused:
        assert resp.status == 403, resp.url
        body = await resp.json()
        assert body["type"].endswith("/problems/password-change-required")
        assert "密码" in body["detail"]  # zh-CN unless the caller asks otherwise
    me = await client.get("/api/me", **s)
    assert me.status == 200 and (await me.json())["user"]["must_change_password"] is True

    resp = await client.post(
        "/api/me/password", json={"current_password": password, "new_password": NEW_PASSWORD}, **s
    )
    assert resp.status == 200
    assert (await client.get("/api/users", **s)).status == 200


async def test_a_token_made_before_a_password_reset_is_held_back_too(client, db):
    """An account flagged for a password change cannot go around it with an older API token."""
    clerk = await make_staff(db, "clerk")
    async with db.transaction() as session:
        await session.execute(sa.update(StaffUser).values(must_change_password=True))
    resp = await client.get("/api/cases", headers=clerk.headers)
    assert resp.status == 403
    assert (await resp.json())["type"].endswith("/problems/password-change-required")
    assert (await client.get("/api/me", headers=clerk.headers)).status == 200


async def test_a_password_change_ends_every_other_session_and_token(client, db):
    wang = await make_staff(db, "clerk", "wang")  # with an API token of its own
    other = await make_staff(db, "inspector", "other")  # someone else's token stays
    first = await log_in(client, "wang", PASSWORD)
    second = await log_in(client, "wang", PASSWORD)
    resp = await client.post("/api/tokens", json={"label": "scanner"}, **as_session(*first))
    assert resp.status == 201
    api_token = (await resp.json())["token"]
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await client.get("/api/me", headers=bearer)).status == 200

    resp = await client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        **as_session(*first),
    )
    assert resp.status == 200
    assert (await client.get("/api/me", **as_session(*first))).status == 200  # the one changing
    assert (await client.get("/api/me", **as_session(*second))).status == 401
    assert (await client.get("/api/me", headers=bearer)).status == 401
    assert (await client.get("/api/me", headers=wang.headers)).status == 401
    assert (await client.get("/api/me", headers=other.headers)).status == 200
    async with db.session() as session:
        changes = await events_of_kind(session, PASSWORD_CHANGED)
    assert len(changes) == 1 and '"revoked_credentials": 3' in changes[0].detail


async def test_api_tokens_expire_by_default_and_never_beyond_the_cap(client, db, clock):
    cookie, csrf = await log_in(client, (await make_staff(db, "clerk", "wang")).username, PASSWORD)
    s = as_session(cookie, csrf)
    settings = client.app[SETTINGS]
    resp = await client.post("/api/tokens", json={"label": "report script"}, **s)
    assert resp.status == 201
    issued = await resp.json()
    expires = datetime.fromisoformat(issued["expires_at"])
    expected = clock.now() + timedelta(hours=settings.api_token_hours)
    assert abs((expires - expected).total_seconds()) < 60
    resp = await client.post(
        "/api/tokens", json={"label": "too long", "hours": settings.api_token_max_hours + 1}, **s
    )
    assert resp.status == 422

    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert (await client.get("/api/me", headers=bearer)).status == 200
    clock.advance(timedelta(hours=settings.api_token_hours, seconds=1))
    assert (await client.get("/api/me", headers=bearer)).status == 401


async def test_one_lists_and_revokes_only_ones_own_tokens(client, db):
    wang = await make_staff(db, "clerk", "wang")
    other = await make_staff(db, "clerk", "li")
    resp = await client.post("/api/tokens", json={"label": "scanner"}, headers=wang.headers)
    scanner = await resp.json()

    listed = await (await client.get("/api/tokens", headers=wang.headers)).json()
    rows = {row["id"]: row for row in listed["items"]}
    assert scanner["id"] in rows and rows[scanner["id"]]["label"] == "scanner"
    assert sum(row["current"] for row in rows.values()) == 1  # the token making the call
    assert scanner["token"] not in str(listed) and wang.token not in str(listed)
    theirs = await (await client.get("/api/tokens", headers=other.headers)).json()
    assert scanner["id"] not in {row["id"] for row in theirs["items"]}

    resp = await client.delete(f"/api/tokens/{scanner['id']}", headers=other.headers)
    assert resp.status == 404  # someone else's token looks absent
    bearer = {"Authorization": f"Bearer {scanner['token']}"}
    assert (await client.get("/api/me", headers=bearer)).status == 200
    resp = await client.delete(f"/api/tokens/{scanner['id']}", headers=wang.headers)
    assert resp.status == 200
    assert (await client.get("/api/me", headers=bearer)).status == 401
    listed = await (await client.get("/api/tokens", headers=wang.headers)).json()
    assert scanner["id"] not in {row["id"] for row in listed["items"]}


async def test_signing_out_with_a_bearer_token_revokes_it(client, db):
    clerk = await make_staff(db, "clerk")
    assert (await client.delete("/api/session", headers=clerk.headers)).status == 200
    assert (await client.get("/api/me", headers=clerk.headers)).status == 401


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("1234567890", "password_min_length"),
        ("aaaaaaaaaa", "password_min_length"),
        ("password12", "password_min_length"),
        ("aaaaaaaaaaaa", "password_common"),
        ("123456789012", "password_common"),
        ("password2026!", "password_common"),
        ("qwertyuiop123", "password_common"),
        ("1q2w3e4r5t6y", "password_common"),
        ("iloveyou1314", "password_common"),
    ],
)
async def test_weak_passwords_are_refused_naming_the_rule(client, db, password, rule):
    admin = await make_staff(db, "admin")
    body = {"username": "li", "display_name": "Li", "role": "clerk", "password": password}
    resp = await client.post("/api/users", json=body, headers=admin.headers)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["rule"] == rule and "密码" in problem["detail"]
    resp = await client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": password},
        headers={**admin.headers, "Accept-Language": "en"},
    )
    problem = await resp.json()
    assert resp.status == 422 and problem["rule"] == rule
    assert "password" in problem["detail"] and "密码" not in problem["detail"]


async def test_a_long_uncommon_passphrase_is_accepted(client, db):
    admin = await make_staff(db, "admin")
    body = {"username": "li", "display_name": "Li", "role": "clerk", "password": NEW_PASSWORD}
    assert (await client.post("/api/users", json=body, headers=admin.headers)).status == 201
