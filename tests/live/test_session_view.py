"""The live console's session view read in one hop is the one built from the ORM's session,
before and during a call, and it refuses what the ORM path refused (another case's applicant,
no such session)."""

from __future__ import annotations

import pytest

from tests.live.live_helpers import booked_session, participant
from zerotrip.api.keys import LIVE
from zerotrip.api.routing import respond
from zerotrip.live import booking
from zerotrip.live.schemas import Viewer
from zerotrip.problems import NotFound


async def _orm_view(client, db, sid: int) -> bytes:
    async with db.session() as session:
        live = await booking.load(session, sid)
    return respond(client.server.app[LIVE].view(live)).body


async def test_session_view_fast_equals_orm(client, db, clock):
    live = client.server.app[LIVE]
    booked = await booked_session(client, db, clock)
    sid, case_id = booked.session["id"], booked.case["id"]
    staff, applicant = Viewer(staff=True), Viewer(staff=False, case_id=case_id)
    for viewer in (staff, applicant):
        assert respond(await live.session(sid, viewer)).body == await _orm_view(client, db, sid)
    async with participant(client, booked.ws_path, booked.token) as phone:
        assert (await phone.connect())["type"] == "welcome"
        fast = respond(await live.session(sid, staff)).body
        assert fast == await _orm_view(client, db, sid)
        assert b'"connected":["applicant"]' in fast
    with pytest.raises(NotFound):
        await live.session(sid, Viewer(staff=False, case_id=case_id + 1))
    with pytest.raises(NotFound):
        await live.session(999_999, staff)
