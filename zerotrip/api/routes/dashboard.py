"""Dashboard routes: the figures as JSON, each chart as SVG, and the rows behind them as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.admin.departments import hidden_matters_for
from zerotrip.api.keys import CATALOGUE, CLOCK, DB, SETTINGS
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.dashboard.charts import CHARTS
from zerotrip.dashboard.departments import as_dict, compare_departments
from zerotrip.dashboard.queries import ROW_COLUMNS, MatterScope, Period
from zerotrip.dashboard.schemas import DepartmentComparison, DepartmentRow, Figures
from zerotrip.dashboard.service import case_rows, period_figures
from zerotrip.problems import Forbidden, InvalidInput, NotFound

routes = RouteTable("dashboard")


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    matter: str | None = Field(default=None, max_length=64)


def _period(request: web.Request, q: DashboardQuery) -> tuple[Period, str | None]:
    clock, settings = request.app[CLOCK], request.app[SETTINGS]
    end = q.end or clock.today()
    start = q.start or end - timedelta(days=29)
    if q.matter and request.app[CATALOGUE].get(q.matter) is None:
        raise InvalidInput(f"Unknown matter {q.matter!r}.", zh=f"没有事项 {q.matter}。")
    period = Period.checked(start, end, clock.zone, settings.dashboard_max_days)
    return period, q.matter or None


async def _scope(
    request: web.Request, q: DashboardQuery, principal: Principal
) -> tuple[Period, MatterScope]:
    """The period, and the matters the caller's figures count: a member of departments sees
    their departments' matters (and those no department owns), an administrator all."""
    period, matter = _period(request, q)
    assert principal.user is not None
    hidden = await hidden_matters_for(request.app[DB], principal.user)
    if matter in hidden:
        raise Forbidden(
            "That matter belongs to a department you are not in.",
            zh="该事项属于您不在的部门。",
        )
    return period, matter or hidden or None


async def _figures(request: web.Request, q: DashboardQuery, principal: Principal) -> dict[str, Any]:
    period, scope = await _scope(request, q, principal)
    return await period_figures(request.app[DB], period, scope)


@routes.get(
    "/api/dashboard",
    summary="Service figures for a period and matter (received, closed, timeliness, ratings…)",
    audience="staff",
    query=DashboardQuery,
    response=Figures,
    errors=(401, 403, 422),
)
async def read_dashboard(
    request: web.Request, *, principal: Principal, query: DashboardQuery
) -> Figures:
    return Figures.model_validate(await _figures(request, query, principal))


@routes.get(
    "/api/dashboard/departments",
    summary="The departments compared over a period: received, closed, within the limit, "
    "average handling time",
    audience="staff",
    query=DashboardQuery,
    response=DepartmentComparison,
    errors=(401, 403, 422),
)
async def read_department_comparison(
    request: web.Request, *, query: DashboardQuery
) -> DepartmentComparison:
    period, _ = _period(request, query)
    rows = await compare_departments(request.app[DB], period)
    return DepartmentComparison(items=[DepartmentRow(**as_dict(r)) for r in rows])


@routes.get(
    "/api/dashboard/charts/{chart}.svg",
    summary="One dashboard chart, drawn as SVG",
    audience="staff",
    query=DashboardQuery,
    response_content_type="image/svg+xml",
    response={"type": "string"},
    errors=(401, 403, 404, 422),
)
async def read_chart(
    request: web.Request, *, principal: Principal, query: DashboardQuery
) -> web.Response:
    draw = CHARTS.get(request.match_info["chart"])
    if draw is None:
        raise NotFound(
            f"No chart {request.match_info['chart']!r}; there are {sorted(CHARTS)}.",
            zh=f"没有图表 {request.match_info['chart']}，可选：{'、'.join(sorted(CHARTS))}。",
        )
    svg = draw(await _figures(request, query, principal))
    return web.Response(
        text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


@routes.get(
    "/api/dashboard/rows.csv",
    summary="The per-case rows behind the figures, as CSV",
    audience="staff",
    query=DashboardQuery,
    response_content_type="text/csv",
    response={"type": "string"},
    errors=(401, 403, 422),
)
async def export_rows(
    request: web.Request, *, principal: Principal, query: DashboardQuery
) -> web.StreamResponse:
    period, scope = await _scope(request, query, principal)
    matter = scope if isinstance(scope, str) else None
    name = f"zerotrip-{matter or 'all'}-{period.start}-{period.end}.csv"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        }
    )
    await response.prepare(request)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(ROW_COLUMNS)
    async for chunk in case_rows(request.app[DB], period, scope):
        for row in chunk:
            writer.writerow(["" if v is None else v for v in row])
        await response.write(buf.getvalue().encode("utf-8"))
        buf.seek(0)
        buf.truncate()
    await response.write(buf.getvalue().encode("utf-8"))
    await response.write_eof()
    return response
