"""The case list pages with cursors and searches through the gram index; both must give exactly
what a brute-force filter over every case gives, on random cases, in the same order.

The fixtures are random cases written through the ORM (so the search rows come from the same
hooks as in service), some of them edited afterwards; the expected pages come from reading
every case and filtering in Python: the text is a substring of one field, compared after NFKC
and case folding; the order is (updated_at desc, id desc), or (deadline, id) on a deadline
filter.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from tests.factories import make_staff
from zerotrip.cases import reads
from zerotrip.cases.cursor import Cursor
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import CLOCK_RUNNING, Case, CaseState
from zerotrip.cases.search import SEARCHED, CaseSearch, CaseSearchGram
from zerotrip.cases.store import CaseFilter

ALPHABET = "文三路西湖区杭州王李张记餐饮店铺号楼aAbBxyZ0123456789-_%Ａｂ "
STATES = [s.value for s in CaseState]
MATTERS = ["food-business", "pharmacy", "hotel"]


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


async def _random_cases(db, rng: random.Random, n: int) -> None:
    base = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    async with db.transaction() as session:
        for i in range(n):
            # few distinct times and deadlines: many ties, broken by id
            at = base + timedelta(minutes=rng.randint(0, 40))
            session.add(
                Case(
                    reference=f"ZT2026{i:05d}{rng.choice('AB')}",
                    matter_code=rng.choice(MATTERS),
                    state=rng.choice(STATES),
                    applicant_name=_text(rng, 1, 6),
                    applicant_phone=rng.choice(["", f"13{rng.randint(0, 10**9 - 1):09d}"]),
                    organisation=rng.choice(["", _text(rng, 2, 10)]),
                    premises_address=_text(rng, 3, 30),
                    submitted_at=at,
                    updated_at=at,
                    deadline=rng.choice([None, date(2026, 6, 1) + timedelta(rng.randint(0, 30))]),
                )
            )
    # edits after the fact: the search rows follow the case
    async with db.transaction() as session:
        edited = (await session.exec(select(Case).order_by(Case.id).limit(n // 3))).all()
        for case in edited:
            case.applicant_name = _text(rng, 1, 6)
            case.premises_address = _text(rng, 3, 30)
            case.state = rng.choice(STATES)


async def _all_cases(db) -> list[Case]:
    async with db.session() as session:
        return list((await session.exec(select(Case))).all())


def _expected(cases: list[Case], flt: CaseFilter, today: date, horizon: date) -> list[int]:
    running = {s.value for s in CLOCK_RUNNING}
    text = _fold(flt.query or "")
    out = []
    for c in cases:
        if flt.state and c.state != flt.state:
            continue
        if flt.matter_code and c.matter_code != flt.matter_code:
            continue
        if c.matter_code in flt.hidden_matters:
            continue
        if flt.due == "overdue" and not (
            c.state in running and c.deadline is not None and c.deadline < today
        ):
            continue
        if flt.due == "soon" and not (
            c.state in running and c.deadline is not None and today <= c.deadline <= horizon
        ):
            continue
        if text and not any(text in _fold(getattr(c, k) or "") for k in SEARCHED):
            continue
        out.append(c)
    if flt.due:
        out.sort(key=lambda c: (c.deadline, c.id))
    else:
        out.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
    return [c.id for c in out]


async def _walk(db, flt: CaseFilter, **args) -> list[int]:
    """Every page of the list, following the cursors."""
    ids: list[int] = []
    after = None
    for _ in range(1000):
        rows, after = await reads.case_page(db, flt, after=after, **args)
        assert len(rows) <= flt.limit
        assert after is None or len(rows) == flt.limit
        ids += [r.id for r in rows]
        if after is None:
            return ids
    raise AssertionError("the cursor never ended")


async def test_pages_and_search_equal_a_brute_force_filter(db):
    rng = random.Random(17)
    await _random_cases(db, rng, 160)
    cases = await _all_cases(db)
    calendar = WorkingCalendar()
    today = date(2026, 6, 12)
    args = {"today": today, "calendar": calendar, "soon_days": 5}
    horizon = calendar.add_working_days(today, 5)
    fields = [getattr(c, k) for c in cases for k in SEARCHED if getattr(c, k)]
    queries = [None, "", " ", "%", "_", "文三", "ab", "AB", "ｂ", "Ａb", "0", "13", "ZT2026001"]
    for _ in range(60):  # pieces of real fields, 1 to 6 characters
        f = rng.choice(fields)
        start = rng.randrange(len(f))
        queries.append(f[start : start + rng.randint(1, 6)])
    queries += [_text(rng, 2, 4) for _ in range(15)]  # mostly nowhere
    shapes = [
        {},
        {"state": "accepted"},
        {"matter_code": "pharmacy"},
        {"hidden_matters": frozenset({"hotel", "no-such-matter"})},
        {"due": "overdue"},
        {"due": "soon"},
    ]
    found = 0
    for n, q in enumerate(queries):
        for kw in [shapes[n % len(shapes)], {}]:
            flt = CaseFilter(query=q, limit=rng.choice([1, 3, 7, 50]), **kw)
            expected = _expected(cases, flt, today, horizon)
            assert await _walk(db, flt, **args) == expected, (q, kw, flt.limit)
            found += len(expected)
    assert found > 500  # the queries did find cases
    for kw in shapes:  # no text: every shape, paged small
        flt = CaseFilter(limit=4, **kw)
        assert await _walk(db, flt, **args) == _expected(cases, flt, today, horizon), kw


async def test_search_rows_are_written_with_the_case_or_not_at_all(db):
    at = datetime(2026, 6, 1, tzinfo=UTC)
    fields = {"matter_code": "pharmacy", "submitted_at": at, "updated_at": at}
    try:
        async with db.transaction() as session:
            session.add(Case(reference="R1", applicant_name="钱七", premises_address="x", **fields))
            await session.flush()
            raise RuntimeError("killed before the commit")
    except RuntimeError:
        pass
    async with db.transaction() as session:
        session.add(
            Case(reference="R2", applicant_name="赵六", premises_address="文三路", **fields)
        )
    async with db.session() as session:
        grams = (await session.exec(select(CaseSearchGram.gram))).all()
        bodies = (await session.exec(select(CaseSearch.body))).all()
    assert "钱七" not in grams and "赵六" in grams and "文三" in grams
    assert len(bodies) == 1 and "赵六" in bodies[0]
    async with db.transaction() as session:
        case = (await session.exec(select(Case))).one()
        case.applicant_name = "孙八"
    async with db.session() as session:
        grams = set((await session.exec(select(CaseSearchGram.gram))).all())
    assert "孙八" in grams and "赵六" not in grams and "文三" in grams


async def test_a_bad_cursor_is_a_problem_in_the_callers_language(client, db):
    clerk = await make_staff(db, "clerk")
    at = datetime(2026, 6, 1, tzinfo=UTC)
    async with db.transaction() as session:
        for i in range(3):
            session.add(
                Case(
                    reference=f"R{i}",
                    matter_code="pharmacy",
                    applicant_name="张三",
                    premises_address="文三路",
                    submitted_at=at,
                    updated_at=at + timedelta(minutes=i),
                )
            )
    resp = await client.get("/api/cases?limit=2", headers=clerk.headers)
    page = await resp.json()
    assert resp.status == 200 and len(page["items"]) == 2 and page["next"]
    resp = await client.get(f"/api/cases?limit=2&cursor={page['next']}", headers=clerk.headers)
    last = await resp.json()
    assert [c["reference"] for c in last["items"]] == ["R0"] and last["next"] is None
    forged = Cursor("updated", at, 10**6).encode("not the key")
    other_order = page["next"]  # an updated-order cursor on the deadline order
    bad = [
        ("cursor=garbage", "zh-CN", "翻页标记"),
        ("cursor=" + page["next"][:-2] + "AA", "en", "cursor"),
        ("cursor=" + forged, "en", "cursor"),
        ("due=overdue&cursor=" + other_order, "zh-CN", "排序"),
        ("cursor=" + "A" * 40, "en", "cursor"),
    ]
    for query, language, words in bad:
        headers = {**clerk.headers, "Accept-Language": language}
        resp = await client.get(f"/api/cases?{query}", headers=headers)
        assert resp.status == 422, query
        assert resp.content_type == "application/problem+json"
        assert words in (await resp.json())["detail"], query
    resp = await client.get("/api/cases?offset=50", headers=clerk.headers)
    assert resp.status == 422  # pages are cursors now
