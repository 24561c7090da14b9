"""The case's evidence list read in one hop is the ORM one, for every kind of caller.

The same case (photos with trust verdicts, one with an earlier verdict under an older policy,
identity evidence, a recording) is listed both ways for the applicant, an inspector (whose role
sees identity evidence), a clerk without and with a personal grant, and an administrator; the
encoded responses must be the same bytes. The route answers with the fast one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from tests.factories import applicant_headers, make_staff
from tests.review.review_helpers import add_evidence, inspecting_case, photo
from zerotrip.accounts.models import StaffUser
from zerotrip.api.routing import respond
from zerotrip.identity_check.access import Viewer
from zerotrip.identity_check.models import IdentityAccess
from zerotrip.identity_check.service import may_see
from zerotrip.kit.actor import Actor
from zerotrip.media.models import TrustVerdict
from zerotrip.media.schemas import EvidenceList, EvidenceView
from zerotrip.problems import NotFound
from zerotrip.review import evidence_reads, intake


async def _orm_list(db, case_id: int, viewer: Viewer, roles: tuple[str, ...]) -> bytes:
    staff = viewer.is_staff
    found = await intake.case_evidence_list(
        db,
        case_id,
        see_restricted=staff and await may_see(db, viewer, roles),
        with_verdicts=staff,
    )
    return respond(EvidenceList(items=[EvidenceView.of(e, v, staff=staff) for e, v in found])).body


async def _fast_list(db, case_id: int, viewer: Viewer, roles: tuple[str, ...]) -> bytes:
    found = await evidence_reads.case_evidence(db, case_id, viewer, roles)
    items = [EvidenceView.of(e, v, staff=viewer.is_staff) for e, v in found]
    return respond(EvidenceList(items=items)).body


async def _user_id(db, username: str) -> int:
    async with db.session() as session:
        user = (await session.exec(select(StaffUser).where(StaffUser.username == username))).one()
    return user.id


async def test_evidence_list_fast_equals_orm(client, db, settings):
    case = await inspecting_case(client, db)
    case_id = case["id"]
    checkpoints = [cp["id"] for cp in case["view"]["checkpoints"]]
    first = await add_evidence(db, settings, case_id, checkpoints[0], photo(seed=1))
    await add_evidence(db, settings, case_id, checkpoints[1], photo(seed=2))
    await add_evidence(db, settings, case_id, checkpoints[0], photo(seed=3), restricted=True)
    await add_evidence(
        db, settings, case_id, None, b"\x1a\x45\xdf\xa3 not a video", kind="recording",
        media_type="video/webm",
    )  # fmt: skip
    async with db.transaction() as session:  # an earlier verdict under an older policy
        session.add(
            TrustVerdict(
                evidence_id=first.id,
                policy_version="0-old",
                verdict="needs_review",
                findings=[{"code": "old", "severity": "info", "message": "旧规则"}],
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
    clerk_id = await _user_id(db, "clerk")
    granted = await make_staff(db, "clerk", "granted-clerk")
    granted_id = await _user_id(db, granted.username)
    async with db.transaction() as session:
        session.add(IdentityAccess(user_id=granted_id, granted_at=datetime.now(UTC)))
    inspector_id = await _user_id(db, "inspector")
    admin = await make_staff(db, "admin")
    roles = settings.identity_roles
    viewers = [
        Viewer(Actor("applicant", "", "applicant"), False, "applicant", None),
        Viewer(Actor("staff", str(inspector_id), "i"), True, "inspector", inspector_id),
        Viewer(Actor("staff", str(clerk_id), "c"), True, "clerk", clerk_id),
        Viewer(Actor("staff", str(granted_id), "g"), True, "clerk", granted_id),
        Viewer(Actor("staff", "0", "a"), True, "admin", await _user_id(db, admin.username)),
    ]
    seen = []
    for viewer in viewers:
        fast = await _fast_list(db, case_id, viewer, roles)
        assert fast == await _orm_list(db, case_id, viewer, roles), viewer.role
        seen.append(fast)
    assert seen[2] != seen[3]  # the grant shows identity evidence to that clerk only
    assert b"needs_review" in seen[1]  # the earlier verdict is listed for staff

    # the route answers with the fast list
    resp = await client.get(f"/api/cases/{case_id}/evidence", headers=case["clerk"].headers)
    assert await resp.read() == seen[2]
    resp = await client.get(
        f"/api/cases/{case_id}/evidence", headers=applicant_headers(case["token"])
    )
    assert await resp.read() == seen[0]

    with pytest.raises(NotFound):
        await evidence_reads.case_evidence(db, 999_999, viewers[1], roles)
