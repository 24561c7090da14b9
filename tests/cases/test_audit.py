"""The audit chain: tampering is caught and named, and concurrent writers never fork it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import sqlalchemy as sa

from tests.factories import act, apply, make_staff, walk


async def _walk(client, db):
    clerk = await make_staff(db, "clerk")
    case = await walk(client, clerk, await make_staff(db, "inspector"), until="inspected")
    return case.id, clerk


def _cli(settings, *args):
    env = {
        "ZEROTRIP_DATABASE_URL": settings.database_url,
        "ZEROTRIP_SECRET_KEY": "x",
        "ZEROTRIP_DATA_DIR": str(settings.data_dir),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "zerotrip", "audit", "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


async def test_verifier_names_the_edited_event(client, db, settings):
    cid, clerk = await _walk(client, db)
    ok = await asyncio.to_thread(_cli, settings, str(cid))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # submitted, link, pre-review, mailing.order_created (paper originals), start, 7 checkpoint
    # verdicts (one is the identity check), result
    assert "ok, 13 events" in ok.stdout

    # Someone with database access quietly rewrites the pre-review's payload.
    async with db.transaction() as session:
        row = (
            await session.execute(
                sa.text("SELECT id, payload FROM audit_events WHERE case_id = :c AND seq = 3"),
                {"c": cid},
            )
        ).one()
        payload = json.loads(row.payload)
        payload["deadline"] = "2099-01-01"
        await session.execute(
            sa.text("UPDATE audit_events SET payload = :p WHERE id = :i"),
            {"p": json.dumps(payload, sort_keys=True, separators=(",", ":")), "i": row.id},
        )

    bad = await asyncio.to_thread(_cli, settings, str(cid))
    assert bad.returncode == 1
    assert f"BROKEN at event seq 3 (id {row.id})" in bad.stdout
    assert "altered" in bad.stdout

    all_cases = await asyncio.to_thread(_cli, settings)
    assert all_cases.returncode == 1 and "1 broken" in all_cases.stdout

    resp = await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)
    verification = (await resp.json())["verification"]
    assert verification["ok"] is False and verification["first_bad_seq"] == 3


async def test_deleting_the_last_event_is_caught(client, db):
    cid, clerk = await _walk(client, db)
    async with db.transaction() as session:
        await session.execute(
            sa.text(
                "DELETE FROM audit_events WHERE case_id = :c AND seq = "
                "(SELECT MAX(seq) FROM audit_events WHERE case_id = :c)"
            ),
            {"c": cid},
        )
    resp = await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)
    verification = (await resp.json())["verification"]
    assert verification["ok"] is False
    assert "removed" in verification["reason"]


async def test_concurrent_writers_do_not_fork_the_chain(client, db):
    clerk = await make_staff(db, "clerk")
    case, _ = await apply(client)
    cid = case["id"]
    await act(client, cid, "prereview", clerk.headers, outcome="accept")

    async def receive(code):
        return await client.post(
            f"/api/cases/{cid}/actions/receive_materials",
            json={"codes": [code]},
            headers=clerk.headers,
        )

    codes = ["application-form", "layout-plan"] * 10
    responses = await asyncio.gather(*(receive(c) for c in codes))
    assert [r.status for r in responses] == [200] * len(codes)

    resp = await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)
    audit = await resp.json()
    assert audit["verification"]["ok"] is True
    seqs = [e["seq"] for e in audit["events"]]
    # submitted, link, prereview, mailing.order_created (pickup of paper originals), receipts,
    # and once every original is in: the waiting pickup called off, exactly once
    assert seqs == list(range(1, 4 + len(codes) + 1 + 1))
    assert [e["kind"] for e in audit["events"]].count("mailing.cancelled") == 1
    # Each event links to the one before it: one chain, no fork.
    for prev, event in zip(audit["events"], audit["events"][1:], strict=False):
        assert event["prev_hash"] == prev["hash"]


async def test_the_trail_read_while_steps_append_always_verifies(client, db):
    """A trail (and a bundle) read while steps append sees the case's chain head and its events
    at one moment: an intact chain never reads as broken, on either database."""
    clerk = await make_staff(db, "clerk")
    case, _ = await apply(client)
    cid = case["id"]
    await act(client, cid, "prereview", clerk.headers, outcome="accept")
    writing = True

    async def steps() -> None:
        nonlocal writing
        try:
            for code in ["application-form", "layout-plan"] * 15:
                resp = await client.post(
                    f"/api/cases/{cid}/actions/receive_materials",
                    json={"codes": [code]},
                    headers=clerk.headers,
                )
                assert resp.status == 200
        finally:
            writing = False

    async def trails() -> list[tuple[bool, int]]:
        seen = []
        while writing:
            resp = await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)
            trail = await resp.json()
            seen.append((trail["verification"]["ok"], len(trail["events"])))
        return seen

    _, *readers = await asyncio.gather(steps(), trails(), trails(), trails())
    seen = [s for r in readers for s in r]
    assert len({n for _, n in seen}) > 3  # the readers really overlapped the appends
    assert all(ok for ok, _ in seen), [s for s in seen if not s[0]][:5]
