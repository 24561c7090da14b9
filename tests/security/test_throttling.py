"""Throttling (ASVS V2.2.1, V11.1.4): staff sign-in per account and per address, guessed bearer
tokens and applicant links per address, and new applications per address.

Everything runs against a real server and database. Clients are told apart by
``X-Forwarded-For`` from a trusted proxy (loopback), as behind nginx. Invariants: an attempt over
a limit is a 429 problem with ``Retry-After`` in the caller's language and does no work; the
count lives in the database, so two application processes share it; every lockout leaves a
security event.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import delete, func, select

from tests.factories import APPLICATION, PASSWORD, make_staff
from tests.harness.apps import AppFactory
from zerotrip.accounts import throttle
from zerotrip.accounts.events import LOCKOUT, events_of_kind
from zerotrip.accounts.models import StaffToken, ThrottleCounter
from zerotrip.accounts.throttle import Limits
from zerotrip.cases.models import Case
from zerotrip.config import Settings

LIMITS: dict[str, Any] = {
    "trusted_proxies": ("127.0.0.1",),
    "login_failures_per_account": 5,
    "login_failures_per_ip": 8,
    "token_failures_per_ip": 6,
    "applications_per_ip": 3,
    "lockout_base_s": 60.0,
    "lockout_cap_s": 300.0,
}


@asynccontextmanager
async def serving(apps: AppFactory) -> AsyncIterator[TestClient]:
    async with apps.client(**LIMITS) as test_client:
        yield test_client


@pytest.fixture
async def api(apps: AppFactory) -> AsyncIterator[TestClient]:
    async with serving(apps) as test_client:
        yield test_client


def source(address: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


async def log_in(client: TestClient, username: str, password: str, address: str) -> Any:
    return await client.post(
        "/api/session", json={"username": username, "password": password}, headers=source(address)
    )


async def assert_throttled(resp: Any, language: str = "zh") -> dict[str, Any]:
    assert resp.status == 429, await resp.text()
    assert resp.content_type == "application/problem+json"
    wait = int(resp.headers["Retry-After"])
    body = await resp.json()
    assert body["retry_after"] == wait and wait > 0
    assert body["type"].endswith("/problems/rate-limited")
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])
    assert chinese == (language == "zh"), body["detail"]
    return body


async def test_an_account_is_locked_after_five_failures_even_for_the_right_password(api, db, clock):
    await make_staff(db, "clerk", "wang")
    for n in range(5):
        resp = await log_in(api, "wang", f"wrong guess {n}", f"10.0.0.{n}")  # five addresses
        assert resp.status == 401
    # The sixth attempt, with the right password, is not even checked.
    body = await assert_throttled(await log_in(api, "wang", PASSWORD, "10.0.1.1"))
    assert body["limit"] == "login_account" and 0 < body["retry_after"] <= 60
    english = await api.post(
        "/api/session",
        json={"username": "wang", "password": PASSWORD},
        headers=source("10.0.1.1", **{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}),
    )
    assert "Try again in" in (await assert_throttled(english, "en"))["detail"]
    # The lockout is soft: it ends by itself, and then the right password works.
    clock.advance(timedelta(seconds=61))
    assert (await log_in(api, "wang", PASSWORD, "10.0.1.1")).status == 200
    async with db.session() as session:
        lockouts = await events_of_kind(session, LOCKOUT)
    assert [(e.subject, e.client) for e in lockouts] == [("wang", "10.0.1.1")]
    assert '"scope": "login_account"' in lockouts[0].detail


async def test_repeated_lockouts_double_up_to_the_cap_and_a_success_resets_them(api, db, clock):
    await make_staff(db, "clerk", "wang")
    waits = []
    for _ in range(4):
        for n in range(5):
            assert (
                await log_in(api, "wang", "wrong guess", f"10.1.{len(waits)}.{n}")
            ).status == 401
        waits.append(
            (await assert_throttled(await log_in(api, "wang", "x", "10.9.9.9")))["retry_after"]
        )
        clock.advance(timedelta(seconds=waits[-1] + 1))
    assert waits == [60, 120, 240, 300]
    assert (await log_in(api, "wang", PASSWORD, "10.9.9.9")).status == 200
    for n in range(5):
        assert (await log_in(api, "wang", "wrong guess", f"10.2.0.{n}")).status == 401
    assert (await assert_throttled(await log_in(api, "wang", "x", "10.9.9.9")))["retry_after"] == 60


async def test_one_address_guessing_many_accounts_is_locked_out_but_others_are_not(api, db):
    await make_staff(db, "clerk", "wang")
    for n in range(8):
        assert (await log_in(api, f"user{n}", "wrong guess", "203.0.113.7")).status == 401
    body = await assert_throttled(await log_in(api, "wang", PASSWORD, "203.0.113.7"))
    assert body["limit"] == "login_ip"
    # The account itself is not locked: the same person from the office signs in.
    assert (await log_in(api, "wang", PASSWORD, "198.51.100.2")).status == 200


async def test_the_count_is_shared_by_two_processes_on_one_database(apps, db):
    """Two application instances (as two ``web`` processes) on the same database."""
    await make_staff(db, "clerk", "wang")
    async with serving(apps) as first, serving(apps) as second:
        for n in range(5):
            client = first if n % 2 else second
            assert (await log_in(client, "wang", "wrong guess", f"10.3.0.{n}")).status == 401
        await assert_throttled(await log_in(first, "wang", PASSWORD, "10.3.1.1"))
        await assert_throttled(await log_in(second, "wang", PASSWORD, "10.3.1.1"))


async def test_concurrent_guesses_cannot_slip_past_the_limit(api, db):
    """Thirty guesses at once: at most five passwords are ever checked, the rest are 429."""
    await make_staff(db, "clerk", "wang")
    statuses = await asyncio.gather(
        *(log_in(api, "wang", f"guess {n}", f"10.4.0.{n}") for n in range(30))
    )
    counts = {s: [r.status for r in statuses].count(s) for s in {r.status for r in statuses}}
    assert set(counts) <= {401, 429} and counts.get(401, 0) <= 5 and counts.get(429, 0) >= 25
    async with db.session() as session:
        sessions = (await session.exec(select(func.count()).select_from(StaffToken))).one()
    assert sessions == 1  # only make_staff's API token: no guess opened a session


async def test_guessed_applicant_links_and_tokens_are_throttled_per_address(api, db):
    resp = await api.post("/api/applications", json=APPLICATION, headers=source("10.5.0.1"))
    real_token = (await resp.json())["applicant_token"]
    guesses = ["zta_" + secrets.token_urlsafe(32) for _ in range(3)] + [
        "zts_" + secrets.token_urlsafe(32) for _ in range(3)
    ]
    for guess in guesses:
        resp = await api.get(
            "/api/link", headers=source("192.0.2.66", Authorization=f"Bearer {guess}")
        )
        assert resp.status == 401
    resp = await api.get(
        "/api/link", headers=source("192.0.2.66", Authorization=f"Bearer zta_{'A' * 43}")
    )
    assert (await assert_throttled(resp))["limit"] == "token_ip"
    # While locked, the address gets nothing looked up, not even a real link.
    resp = await api.get(
        "/api/link", headers=source("192.0.2.66", Authorization=f"Bearer {real_token}")
    )
    await assert_throttled(resp)
    # Another address with the real link is served.
    resp = await api.get(
        "/api/link", headers=source("192.0.2.67", Authorization=f"Bearer {real_token}")
    )
    assert resp.status == 200
    async with db.session() as session:
        assert [e.subject for e in await events_of_kind(session, LOCKOUT)] == ["192.0.2.66"]


async def test_tokens_guessed_on_the_live_socket_count_like_bearer_tokens(api, db):
    """The WebSocket's first message carries a credential: guessing there is throttled too,
    and the count is shared with guesses in the Authorization header."""

    async def socket_guess(token: str) -> dict[str, Any]:
        ws = await api.session.ws_connect(
            api.make_url("/api/live/sessions/1/ws"), headers=source("192.0.2.77")
        )
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        answer = await ws.receive_json(timeout=10)
        await ws.close()
        return answer

    for _ in range(3):
        resp = await api.get(
            "/api/link",
            headers=source("192.0.2.77", Authorization=f"Bearer zta_{secrets.token_urlsafe(32)}"),
        )
        assert resp.status == 401
    for _ in range(3):
        assert (await socket_guess("zts_" + secrets.token_urlsafe(32)))["status"] == 401
    refused = await socket_guess("zta_" + secrets.token_urlsafe(32))
    assert refused["status"] == 429 and refused["limit"] == "token_ip", refused
    resp = await api.get("/api/link", headers=source("192.0.2.77", Authorization="Bearer zta_x"))
    await assert_throttled(resp)


async def test_pruning_counters_never_changes_a_decision(db, clock):
    """Deleting counters that no longer matter is invisible: the same random attempts give the
    same decisions whether counters are pruned between them or not, and the table shrinks."""
    limits = Limits.from_settings(Settings(**{**LIMITS, "login_window_s": 120.0}))
    limit = limits.login_account
    rng = random.Random(20261130)
    second = timedelta(seconds=1)
    # A lockout, a quiet spell past the window but within the cap, and another burst: the
    # second lockout must still be twice as long. Then random attempts.
    script = [("a", second)] * 7 + [("b", 200 * second)] + [("a", second)] * 6
    steps = [1, 1, 1, 1, 2, 2, 3, 5, 30, 90, 150, 400, 900, 4000]
    script += [(rng.choice("ab"), rng.choice(steps) * second) for _ in range(400)]

    async def play(prune_between: bool) -> tuple[list[int], int]:
        async with db.transaction() as session:
            await session.exec(delete(ThrottleCounter))  # type: ignore[call-overload]
        now = clock.now()
        decisions, pruned = [], 0
        for subject, step in script:
            now += step
            async with db.transaction() as session:
                decisions.append((await throttle.hit(session, limit, subject, now)).wait_s)
                if prune_between:
                    pruned += await throttle.prune(session, limits, now)
        return decisions, pruned

    kept, _ = await play(prune_between=False)
    pruned_decisions, pruned = await play(prune_between=True)
    assert pruned_decisions == kept
    assert pruned > 0 and any(kept)  # both lockouts and dead counters happened
    async with db.transaction() as session:
        later = clock.now() + timedelta(days=30)
        await throttle.prune(session, limits, later)
        left = (await session.exec(select(func.count()).select_from(ThrottleCounter))).one()
    assert left == 0


async def test_an_expired_link_is_not_counted_as_a_guess(api, db, clock):
    resp = await api.post("/api/applications", json=APPLICATION, headers=source("10.6.0.1"))
    token = (await resp.json())["applicant_token"]
    clock.advance(timedelta(days=400))
    for _ in range(10):
        resp = await api.get(
            "/api/link", headers=source("10.6.0.1", Authorization=f"Bearer {token}")
        )
        assert resp.status == 410


async def test_applications_per_address_are_limited(api, db):
    for n in range(3):
        resp = await api.post(
            "/api/applications",
            json={**APPLICATION, "applicant_name": f"申请人{n}"},
            headers=source("10.7.0.1"),
        )
        assert resp.status == 201
    resp = await api.post("/api/applications", json=APPLICATION, headers=source("10.7.0.1"))
    assert (await assert_throttled(resp))["limit"] == "apply_ip"
    # Nothing was created by the refused one; another address may still apply.
    resp = await api.post("/api/applications", json=APPLICATION, headers=source("10.7.0.2"))
    assert resp.status == 201
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Case))).one() == 4


async def test_an_untrusted_peer_cannot_pick_its_address_with_a_header(apps, db):
    """Without a trusted proxy, X-Forwarded-For is ignored: rotating it does not help."""
    await make_staff(db, "clerk", "wang")
    async with apps.client(**{**LIMITS, "trusted_proxies": ()}) as client:
        for n in range(8):
            assert (await log_in(client, f"user{n}", "wrong guess", f"10.8.0.{n}")).status == 401
        await assert_throttled(await log_in(client, "wang", PASSWORD, "10.8.1.1"))
