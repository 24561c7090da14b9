"""Staff accounts, tokens and the first administrator, against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from zerotrip.accounts.models import StaffToken, StaffUser
from zerotrip.accounts.service import (
    authenticate_password,
    bootstrap_admin,
    change_password,
    create_staff,
    issue_applicant_link,
    issue_staff_token,
    resolve_applicant_token,
    resolve_staff_token,
    revoke_applicant_link,
    revoke_staff_token,
    token_digest,
)
from zerotrip.kit.clock import utcnow
from zerotrip.problems import Conflict, Gone, InvalidInput, Unauthenticated

PASSWORD = "correct horse battery"


async def test_passwords_are_stored_as_argon2id_and_checked(db):
    async with db.transaction() as session:
        user = await create_staff(session, "wang", "Wang Fang", "clerk", PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    async with db.transaction() as session:
        assert (await authenticate_password(session, "wang", PASSWORD)).id == user.id
        with pytest.raises(Unauthenticated):
            await authenticate_password(session, "wang", PASSWORD + "!")
        with pytest.raises(Unauthenticated):
            await authenticate_password(session, "nobody", PASSWORD)


async def test_account_rules(db):
    async with db.transaction() as session:
        await create_staff(session, "wang", "Wang Fang", "clerk", PASSWORD)
    async with db.transaction() as session:
        with pytest.raises(Conflict):
            await create_staff(session, "wang", "Another Wang", "clerk", PASSWORD)
        with pytest.raises(InvalidInput):
            await create_staff(session, "li", "Li", "superuser", PASSWORD)
        with pytest.raises(InvalidInput):
            await create_staff(session, "li", "Li", "clerk", "short")


async def test_an_inactive_account_can_neither_log_in_nor_use_its_tokens(db):
    async with db.transaction() as session:
        user = await create_staff(session, "wang", "Wang Fang", "inspector", PASSWORD)
        issued = await issue_staff_token(session, user, "api", hours=None)
    async with db.session() as session:
        assert await resolve_staff_token(session, issued.token, utcnow()) is not None
    async with db.transaction() as session:
        await session.execute(sa.update(StaffUser).values(active=False))
    async with db.transaction() as session:
        with pytest.raises(Unauthenticated):
            await authenticate_password(session, "wang", PASSWORD)
        assert await resolve_staff_token(session, issued.token, utcnow()) is None


async def test_tokens_expire_and_can_be_revoked_and_only_their_hash_is_stored(db):
    async with db.transaction() as session:
        user = await create_staff(session, "wang", "Wang Fang", "clerk", PASSWORD)
        session_token = await issue_staff_token(session, user, "session", hours=12)
        api_token = await issue_staff_token(session, user, "api", hours=None, label="scanner")
    assert session_token.token.startswith("zts_") and session_token.record.csrf_token
    assert api_token.record.csrf_token == ""
    async with db.session() as session:
        stored = (await session.execute(sa.select(StaffToken.token_hash))).scalars().all()
        assert set(stored) == {token_digest(session_token.token), token_digest(api_token.token)}
        now = utcnow()
        assert await resolve_staff_token(session, session_token.token, now) is not None
        later = now + timedelta(hours=12, seconds=1)
        assert await resolve_staff_token(session, session_token.token, later) is None
        assert await resolve_staff_token(session, api_token.token, later) is not None
        assert await resolve_staff_token(session, "zts_forged", now) is None
        assert await resolve_staff_token(session, "zta_" + api_token.token[4:], now) is None
    async with db.transaction() as session:
        await revoke_staff_token(session, api_token.record.id)
    async with db.session() as session:
        assert await resolve_staff_token(session, api_token.token, utcnow()) is None


async def test_applicant_links_expire_and_can_be_revoked(client, db):
    resp = await client.post(
        "/api/applications",
        json={"matter_code": "food-business", "applicant_name": "李娜", "premises_address": "x"},
    )
    case_id = (await resp.json())["case"]["id"]
    async with db.transaction() as session:
        issued = await issue_applicant_link(session, case_id, days=3)
    assert issued.token.startswith("zta_") and issued.link.token_hash == token_digest(issued.token)
    async with db.session() as session:
        now = utcnow()
        assert (await resolve_applicant_token(session, issued.token, now)).case_id == case_id
        with pytest.raises(Gone):
            await resolve_applicant_token(session, issued.token, now + timedelta(days=3))
        with pytest.raises(Unauthenticated):
            await resolve_applicant_token(session, "zta_forged", now)
    async with db.transaction() as session:
        await revoke_applicant_link(session, case_id, issued.link.id)
    async with db.session() as session:
        with pytest.raises(Gone):
            await resolve_applicant_token(session, issued.token, utcnow())


async def test_bootstrap_admin_once_with_a_password_that_must_be_changed(client, db):
    async with db.transaction() as session:
        password = await bootstrap_admin(session)
    assert password and len(password) >= 12
    async with db.transaction() as session:
        assert await bootstrap_admin(session) is None  # never a second time

    resp = await client.post("/api/session", json={"username": "admin", "password": password})
    assert resp.status == 200
    body = await resp.json()
    assert body["user"]["role"] == "admin" and body["user"]["must_change_password"] is True
    csrf = {"X-CSRF-Token": body["csrf_token"]}

    new = "a much better passphrase"
    resp = await client.post(
        "/api/me/password",
        json={"current_password": password, "new_password": new},
        headers=csrf,
    )
    assert resp.status == 200
    me = await (await client.get("/api/me")).json()
    assert me["user"]["must_change_password"] is False
    # The one-time password is spent; the new one works.
    resp = await client.post("/api/session", json={"username": "admin", "password": password})
    assert resp.status == 401
    resp = await client.post("/api/session", json={"username": "admin", "password": new})
    assert resp.status == 200


async def test_change_password_checks_the_current_one(db):
    async with db.transaction() as session:
        user = await create_staff(session, "wang", "Wang Fang", "clerk", PASSWORD)
        with pytest.raises(Unauthenticated):
            await change_password(session, user, "wrong", "a new passphrase")
        with pytest.raises(InvalidInput):
            await change_password(session, user, PASSWORD, "short")
        await change_password(session, user, PASSWORD, "a new passphrase")
    async with db.transaction() as session:
        await authenticate_password(session, "wang", "a new passphrase")
