"""What department scoping costs one case read: ``GET /api/cases/{id}`` by a member of a
department (the route looks the case's matter up against the member's departments first)
against the same read by an administrator (no lookup: the naive, unscoped way), in one run.

Serves the real app on SQLite in a temporary folder (or a PostgreSQL database named by
``--database-url``, which must exist and be empty) in this process over loopback, with one
application of each shipped matter; the two callers alternate in rounds of ``--requests``
sequential reads so a load change hits both alike. Prints the load average before and after and

    case_scope: member p50 <A> ms p90 <B> ms, admin p50 <C> ms p90 <D> ms, member/admin <R>x

    .venv/bin/python bench/case_scope.py [--requests 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from header import loaded, ratio_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "correct horse battery"


async def _setup(data_dir: Path, database_url: str) -> tuple[object, dict[str, str]]:
    from zerotrip.accounts.service import create_staff, issue_staff_token
    from zerotrip.admin.models import Department, MatterSetting, StaffDepartment
    from zerotrip.config import Settings
    from zerotrip.db import Database, migrate, session_now

    extra = {"database_url": database_url} if database_url else {}
    settings = Settings(
        data_dir=data_dir, secret_key="bench", log_level="WARNING", **extra
    ).resolved()
    await asyncio.to_thread(migrate, settings)
    db = Database(settings)
    tokens: dict[str, str] = {}
    async with db.transaction() as session:
        now = session_now(session)
        dept = Department(code="market", name_zh="市场监管局", name_en="Market", created_at=now)
        session.add(dept)
        await session.flush()
        assert dept.id is not None
        session.add(
            MatterSetting(matter_code="food-business", department_id=dept.id, updated_at=now)
        )
        for role, username in (("admin", "chief"), ("clerk", "member")):
            user = await create_staff(session, username, username.title(), role, PASSWORD)
            tokens[username] = (await issue_staff_token(session, user, "api", hours=None)).token
            if username == "member":
                assert user.id is not None
                session.add(StaffDepartment(user_id=user.id, department_id=dept.id))
    await db.dispose()
    return settings, tokens


async def _timed(session: object, url: str, token: str, n: int) -> list[float]:
    took = []
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(n):
        start = time.perf_counter()
        async with session.get(url, headers=headers) as resp:  # type: ignore[attr-defined]
            assert resp.status == 200, await resp.text()
            await resp.read()
        took.append((time.perf_counter() - start) * 1000)
    return took


async def run(requests: int, rounds: int, database_url: str) -> None:
    import aiohttp
    from aiohttp.test_utils import TestServer

    from zerotrip.api.app import create_app

    with tempfile.TemporaryDirectory(prefix="zt-scope-") as tmp:
        settings, tokens = await _setup(Path(tmp), database_url)
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http:
                application = {
                    "matter_code": "food-business",
                    "applicant_name": "李娜",
                    "premises_address": "浙江省杭州市西湖区文三路 90 号",
                }
                async with http.post(server.make_url("/api/applications"), json=application) as r:
                    assert r.status == 201, await r.text()
                    case_id = (await r.json())["case"]["id"]
                url = str(server.make_url(f"/api/cases/{case_id}"))
                await _timed(http, url, tokens["member"], 20)  # warm both paths
                await _timed(http, url, tokens["chief"], 20)
                member: list[float] = []
                admin: list[float] = []
                with loaded():
                    for _ in range(rounds):
                        member += await _timed(http, url, tokens["member"], requests)
                        admin += await _timed(http, url, tokens["chief"], requests)
        finally:
            await server.close()

    def pct(xs: list[float], q: int) -> float:
        return statistics.quantiles(xs, n=10)[q // 10 - 1]

    m50, a50 = statistics.median(member), statistics.median(admin)
    print(
        f"case_scope: member p50 {m50:.2f} ms p90 {pct(member, 90):.2f} ms, "
        f"admin p50 {a50:.2f} ms p90 {pct(admin, 90):.2f} ms, "
        f"member/admin {ratio_text(m50, a50, '{:.2f}x')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds, args.database_url))


if __name__ == "__main__":
    main()
