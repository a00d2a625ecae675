"""KPIs and reports for supervisors and admins (an agent gets 403): the KPIs of any period
grouped by line, language, skill, agent, agency, category, district or interval; the daily
report in the shape of the city's holiday report, as JSON or CSV; its charts as PNG.

Every figure is computed by the pure core (``kpi.definitions``, ``kpi.report``) from the
facts the ``Reports`` port loads (``hotline/api/ports_reports.py``), never from Asterisk's
counters. Times in the query are local (the port's zone) unless they carry an offset; a day
is a local day. A period is at most ``MAX_DAYS`` long and an interval table at most
``MAX_ROWS`` rows (422 ``invalid_request`` beyond: ask for a coarser interval).
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
import asyncio
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from hotline.api.auth import Allow, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models_reports import (CategoryLevel, ChartName, Compare, GroupBy, Interval, KpisOut, ReportOut,
                                        RollingOut, RulesOut, row_out)
from hotline.api.ports import Unavailable
from hotline.reports.charts import ChartFontMissing, render
from kpi.definitions import interval_starts, kpi_rows, rolling_connect
from kpi.export import report_to_csv
from kpi.report import Report, daily_report, previous_period, same_days_year_before

Api = Annotated[ApiRuntime, Depends(runtime)]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
ERRORS = error_responses(401, 403, 422, 503)
MAX_DAYS = 366
MAX_ROWS = 4000
DAY = 86400.0


class CsvResponse(Response):
    media_type = "text/csv"


class PngResponse(Response):
    media_type = "image/png"


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", f"invalid request: {message}")


def _year(value: date, name: str) -> None:
    if not 2000 <= value.year <= 2999:
        raise _invalid(f"{name}: a time between the years 2000 and 2999")


def _epoch(value: datetime, tz: tzinfo, name: str) -> float:
    _year(value, name)
    return (value if value.tzinfo is not None else value.replace(tzinfo=tz)).timestamp()


def _day(value: date, tz: tzinfo) -> tuple[float, float]:
    _year(value, "date")
    start = datetime.combine(value, time(0), tzinfo=tz)
    return start.timestamp(), datetime.combine(value + timedelta(days=1), time(0), tzinfo=tz).timestamp()


def _today(api: ApiRuntime, tz: tzinfo) -> date:
    return datetime.fromtimestamp(api.deps.clock(), tz).date()


def _period(api: ApiRuntime, start: datetime | None, end: datetime | None, tz: tzinfo) -> tuple[float, float]:
    """``[from, to)`` in epoch seconds; from defaults to today's start, to to a day later."""
    lo = _epoch(start, tz, "from") if start is not None else _day(_today(api, tz), tz)[0]
    hi = _epoch(end, tz, "to") if end is not None else lo + DAY
    if hi <= lo:
        raise _invalid("to must be after from")
    if hi - lo > MAX_DAYS * DAY:
        raise _invalid(f"a period of at most {MAX_DAYS} days")
    return lo, hi


async def _report(api: ApiRuntime, start: float, end: float, compare: Compare) -> Report:
    reports = api.deps.reports
    tz = reports.tz()
    before = previous_period(start, end) if compare is Compare.previous else same_days_year_before(start, end, tz)
    now = api.deps.clock()
    current = await reports.period(start, end, now)
    previous = await reports.period(before[0], before[1], now)
    return daily_report(current, previous, tz, reports.rules(), reports.category_name)


def _name(api: ApiRuntime, by: GroupBy, group: str) -> str:
    tz = api.deps.reports.tz()
    if by is GroupBy.interval:
        return datetime.fromtimestamp(float(group), tz).isoformat()
    if by is GroupBy.category:
        return api.deps.reports.category_name(group)[0]
    if by is GroupBy.agency:
        agency = api.deps.directory().get(group)
        return agency.name_zh if agency else group
    return group


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/reports", tags=["reports"])
    Start = Annotated[datetime | None, Query(alias="from", description="start (local unless an offset is "
                                                                        "given); default: today 00:00")]
    End = Annotated[datetime | None, Query(alias="to", description="end, exclusive; default: a day after from")]
    Day = Annotated[date | None, Query(alias="date", description="the local day; default: today")]

    @r.get("/kpis", response_model=KpisOut, responses=ERRORS)
    async def kpis(
        _who: Staff, api: Api, start: Start = None, end: End = None,
        by: Annotated[GroupBy, Query(description="how to group the calls")] = GroupBy.period,
        interval: Annotated[Interval, Query(description="with by=interval: 15 min, hour or day")] = Interval.hour,
        category_level: Annotated[CategoryLevel, Query(description="with by=category")] = CategoryLevel.klass,
    ) -> KpisOut:
        """Every KPI of ``[from, to)`` grouped ``by``, with each KPI's definition, the rules
        followed and the rolling 24-hour connect rate (worst window and current one)."""
        reports = api.deps.reports
        tz, rules = reports.tz(), reports.rules()
        lo, hi = _period(api, start, end, tz)
        if by is GroupBy.interval and len(interval_starts(lo, hi, interval.value, tz)) > MAX_ROWS:
            raise _invalid(f"at most {MAX_ROWS} intervals: choose a longer interval or a shorter period")
        data = await reports.period(lo, hi, api.deps.clock())
        rows = kpi_rows(data, by.value, rules, interval.value, tz, category_level.value)
        return KpisOut(start=datetime.fromtimestamp(lo, tz), end=datetime.fromtimestamp(hi, tz), by=by,
                       interval=interval, rules=RulesOut.of(rules), definitions=KpisOut.definitions_of(),
                       rows=[row_out(row, _name(api, by, row.group)) for row in rows],
                       rolling_24h=RollingOut.of(rolling_connect(data.calls, rules, lo, hi), tz))

    @r.get("/daily", response_model=ReportOut, responses=ERRORS)
    async def daily(_who: Staff, api: Api, day: Day = None,
                    compare: Annotated[Compare, Query(description="previous day, or the same day a year "
                                                                  "before")] = Compare.previous) -> ReportOut:
        """The day's report: totals, direct vs transferred, top categories with their shares,
        each against the day before (or the same day a year before)."""
        tz = api.deps.reports.tz()
        lo, hi = _day(day or _today(api, tz), tz)
        return ReportOut.of(await _report(api, lo, hi, compare), tz)

    @r.get("/daily.csv", response_class=CsvResponse, responses=error_responses(401, 403, 422, 503, streaming=True))
    async def daily_csv(_who: Staff, api: Api, day: Day = None,
                        compare: Annotated[Compare, Query()] = Compare.previous) -> Response:
        """The day's report as CSV, one value per line (section, group, key, labels, unit,
        value, previous, change)."""
        tz = api.deps.reports.tz()
        when = day or _today(api, tz)
        lo, hi = _day(when, tz)
        text = report_to_csv(await _report(api, lo, hi, compare), tz)
        return CsvResponse(text.encode("utf-8"), headers={
            "Content-Disposition": f'attachment; filename="report-{when.isoformat()}.csv"'})

    @r.get("/chart/{name}.png", response_class=PngResponse,
           responses=error_responses(401, 403, 422, 503, streaming=True))
    async def chart(_who: Staff, api: Api, name: Annotated[ChartName, Path(description="calls or categories")],
                    day: Day = None, start: Start = None, end: End = None) -> Response:
        """A chart of the day's report (or of ``[from, to)`` when from is given), with Chinese
        labels: ``calls`` (calls and service level per interval) or ``categories``."""
        tz = api.deps.reports.tz()
        if end is not None and start is None:
            raise _invalid("to needs from")
        lo, hi = _period(api, start, end, tz) if start is not None else _day(day or _today(api, tz), tz)
        report = await _report(api, lo, hi, Compare.previous)
        try:
            png = await asyncio.to_thread(render, name.value, report, tz)
        except ChartFontMissing as exc:
            raise Unavailable(str(exc)) from exc
        return PngResponse(png)

    return r
