"""The fast read paths give exactly what the ORM paths give, on the same cases.

Case detail (staff and applicant), and the case list under every filter shape, are read both
ways and rendered by the same response encoder; the bytes must be equal.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.factories import act, make_staff, walk
from zerotrip.api.encoding import RenderedRows
from zerotrip.api.routes.cases import case_page_response
from zerotrip.api.routing import respond
from zerotrip.cases import reads, service
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.schemas import CaseDetail, CasePage, CaseSummary, CaseViewing
from zerotrip.cases.store import CaseFilter
from zerotrip.notify.journey import applicant_journey
from zerotrip.notify.journey_reads import applicant_view
from zerotrip.problems import NotFound


async def _cases(client, db):
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    made = [
        await walk(client, clerk, inspector, until="submitted"),
        await walk(client, clerk, inspector, until="inspecting", organisation="王记 100%_店"),
        await walk(client, clerk, inspector, until="delivered", rectify_rounds=1),
        await walk(client, clerk, inspector, until="inspected", result="fail", premises_lat=None),
        await walk(client, clerk, inspector, until="accepted", applicant_name="Zhang Wei"),
    ]
    returned = await walk(client, clerk, inspector, until="submitted", applicant_email=None)
    await act(
        client,
        returned.id,
        "prereview",
        clerk.headers,
        outcome="return",
        reasons=["营业执照复印件不清晰", "缺少平面图"],
    )
    return [*made, returned]


def _body(model) -> bytes:
    return respond(model).body


async def test_case_detail_fast_equals_orm(client, db, clock):
    cases = await _cases(client, db)
    viewing = CaseViewing(load_catalogue(), clock.today(), WorkingCalendar(), 3)
    for case in cases:
        orm = await service.read_case_file(db, case.id)
        fast = await reads.case_file(db, case.id)
        for role in ("clerk", "inspector", "admin", "applicant"):
            assert _body(CaseDetail.of(fast, viewing, role=role)) == _body(
                CaseDetail.of(orm, viewing, role=role)
            ), (case.id, role)
    with pytest.raises(NotFound):
        await reads.case_file(db, 999_999)


async def test_applicant_view_fast_equals_orm(client, db, clock):
    """The applicant's view (case file and next steps) read in one hop is the ORM one."""
    cases = await _cases(client, db)
    delivered = cases[2]  # one step rated, the others still open to rating
    resp = await client.post(
        f"/api/cases/{delivered.id}/ratings",
        json={"step": "delivery", "level": "satisfied"},
        headers=delivered.applicant_headers,
    )
    assert resp.status == 201, await resp.text()
    viewing = CaseViewing(load_catalogue(), clock.today(), WorkingCalendar(), 3)
    rateable = (await applicant_view(db, delivered.id))[1].steps
    assert [s.kind for s in rateable if s.kind == "rate"], rateable
    for case in cases:
        orm, orm_steps = await applicant_journey(db, case.id)
        fast, fast_steps = await applicant_view(db, case.id)
        assert fast_steps == orm_steps, case.id
        assert _body(CaseDetail.of(fast, viewing, role="applicant", next_steps=fast_steps)) == (
            _body(CaseDetail.of(orm, viewing, role="applicant", next_steps=orm_steps))
        ), case.id
    assert any(s.steps for _, s in [await applicant_view(db, c.id) for c in cases])
    with pytest.raises(NotFound):
        await applicant_view(db, 999_999)


FILTERS = [
    {},
    {"hidden_matters": frozenset({"food-business"})},
    {"hidden_matters": frozenset({"food-business", "no-such-matter"}), "state": "accepted"},
    {"limit": 2},
    {"state": "inspecting"},
    {"state": "closed"},
    {"matter_code": "food-business"},
    {"matter_code": "food-business", "state": "accepted"},
    {"due": "overdue"},
    {"due": "soon"},
    {"due": "soon", "limit": 1},
    {"query": "李"},
    {"query": "zhang"},
    {"query": "100%_"},  # literal text: the ORM path drops % and _, both find the one case
    {"query": "ZT"},
    {"query": "文三路", "state": "delivered"},
    {"query": "nothing like it"},
]


@pytest.mark.parametrize("later_days", [0, 45, 400])
async def test_case_list_fast_equals_orm(client, db, clock, later_days):
    await _cases(client, db)
    calendar = WorkingCalendar()
    today = clock.today() + timedelta(days=later_days)
    viewing = CaseViewing(load_catalogue(), today, calendar, 3)
    seen = 0
    rendered = RenderedRows()
    for kw in FILTERS:
        flt = CaseFilter(**kw)
        args = {"today": today, "calendar": calendar, "soon_days": 30}
        total, rows = await service.find_cases(db, flt, **args)
        fast_rows, following = await reads.case_page(db, flt, **args)
        assert (following is not None) == (total > flt.limit), kw
        orm = CasePage(items=[CaseSummary.of(r, viewing) for r in rows], next=following)
        fast = CasePage(items=[CaseSummary.of(r, viewing) for r in fast_rows], next=following)
        assert _body(fast) == _body(orm), kw
        for _ in range(2):  # rendered, then from the rendered rows
            page = case_page_response(rendered, fast_rows, following, viewing)
            assert page.body == _body(orm), kw
        seen += total
    assert seen > 20  # the filters did find cases


async def test_a_step_answers_with_what_it_wrote(client, db, clock):
    """The case file a step returns (read inside its transaction) is the committed one."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case = await walk(client, clerk, inspector, until="accepted")
    stepped = await act(
        client,
        case.id,
        "receive_materials",
        clerk.headers,
        codes=["layout-plan"],
        channel="courier",
    )
    viewing = CaseViewing(load_catalogue(), clock.today(), WorkingCalendar(), 3)
    after = await service.read_case_file(db, case.id)
    expected = json.loads(_body(CaseDetail.of(after, viewing, role="clerk")))
    stepped.pop("clock"), expected.pop("clock")  # the app's calendar, not this test's
    assert stepped == expected
    assert {m["code"]: m["status"] for m in stepped["materials"]}["layout-plan"] == "received"
