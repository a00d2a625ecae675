"""The report routes' JSON shapes (``hotline/api/routes/reports.py``), built from the pure
core's values (``kpi.definitions``, ``kpi.report``).

Why the definitions travel with the figures: an auditor reading ``/reports/kpis`` gets, next
to every number, its numerator, denominator and rule, exactly as ``docs/kpis.md`` states
them (the same ``KPIS`` data), so nobody has to guess what a rate divides by.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, tzinfo
from enum import StrEnum
from pydantic import BaseModel, Field

from kpi.definitions import KPIS, Kpi, KpiRow, KpiRules, Rolling, Window
from kpi.report import CategoryShare, Figure, IntervalPoint, Report

Number = int | float | None


class GroupBy(StrEnum):
    period = "period"
    line = "line"
    language = "language"
    skill = "skill"
    agent = "agent"
    agency = "agency"
    category = "category"
    district = "district"
    interval = "interval"


class Interval(StrEnum):
    quarter = "15m"
    hour = "1h"
    day = "1d"


class CategoryLevel(StrEnum):
    klass = "class"
    subclass = "subclass"
    item = "item"


class Compare(StrEnum):
    previous = "previous"   # the period of the same length just before (环比)
    year = "year"           # the same days a year before (同比)


class ChartName(StrEnum):
    calls = "calls"
    categories = "categories"


def _at(epoch: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(epoch, tz)


class KpiDefinitionOut(BaseModel):
    """One KPI's definition (the data of ``kpi.definitions.KPIS``)."""

    key: str
    zh: str
    en: str
    unit: str = Field(description="count, ratio (0..1) or seconds")
    numerator: str
    denominator: str
    rule: str

    @classmethod
    def of(cls, kpi: Kpi) -> "KpiDefinitionOut":
        return cls(key=kpi.key, zh=kpi.zh, en=kpi.en, unit=kpi.unit, numerator=kpi.numerator,
                   denominator=kpi.denominator, rule=kpi.rule)


class RulesOut(BaseModel):
    """The thresholds the figures followed (``kpi.definitions.KpiRules``)."""

    service_level_seconds: float
    short_abandon_seconds: float
    app_queue_servicelevel: float
    repeat_short_seconds: float
    repeat_long_seconds: float
    rolling_window_seconds: float
    connect_target: float
    service_level_target: float
    percentile: float
    wrap_cap_seconds: float | None

    @classmethod
    def of(cls, rules: KpiRules) -> "RulesOut":
        return cls(**asdict(rules))


class WindowOut(BaseModel):
    """The connect rate of the calls that arrived in one 24-hour window."""

    start: datetime
    end: datetime
    live_offered: int
    answered: int
    short_abandoned: int
    connect_rate: float | None
    connect_rate_excl_short: float | None

    @classmethod
    def of(cls, w: Window | None, tz: tzinfo) -> "WindowOut | None":
        if w is None:
            return None
        return cls(start=_at(w.start, tz), end=_at(w.end, tz), live_offered=w.live_offered, answered=w.answered,
                   short_abandoned=w.short_abandoned, connect_rate=w.connect_rate,
                   connect_rate_excl_short=w.connect_rate_excl_short)


class RollingOut(BaseModel):
    """GB/T 33358's "any 24 consecutive hours": the worst window of the period and the last."""

    worst: WindowOut | None
    current: WindowOut | None
    partial: bool = Field(description="the period is shorter than 24 h: both are the whole period")

    @classmethod
    def of(cls, rolling: Rolling, tz: tzinfo) -> "RollingOut":
        return cls(worst=WindowOut.of(rolling.worst, tz), current=WindowOut.of(rolling.current, tz),
                   partial=rolling.partial)


class KpiRowOut(BaseModel):
    """The KPIs of one group: ``values`` by KPI key, ``extra`` the agent's or agency's own."""

    group: str = Field(description="the line, language, skill, agent id, agency id, category code, district, "
                                   "or the interval's start")
    name: str
    values: dict[str, Number]
    extra: dict[str, Number]


class KpisOut(BaseModel):
    start: datetime
    end: datetime
    by: GroupBy
    interval: Interval
    rules: RulesOut
    definitions: list[KpiDefinitionOut]
    rows: list[KpiRowOut]
    rolling_24h: RollingOut

    @staticmethod
    def definitions_of() -> list[KpiDefinitionOut]:
        return [KpiDefinitionOut.of(k) for k in KPIS]


def row_out(row: KpiRow, name: str) -> KpiRowOut:
    return KpiRowOut(group=row.group, name=name, values=dict(row.values), extra=dict(row.extra))


class FigureOut(BaseModel):
    """A figure of the report with the previous period's value and the change (relative for
    counts and durations, in points for ratios)."""

    key: str
    zh: str
    en: str
    unit: str
    value: Number
    previous: Number
    change: float | None

    @classmethod
    def of(cls, f: Figure) -> "FigureOut":
        return cls(key=f.key, zh=f.zh, en=f.en, unit=f.unit, value=f.value, previous=f.previous, change=f.change)


class CategoryShareOut(BaseModel):
    code: str
    zh: str
    en: str
    count: int
    share: float | None = Field(description="of all work orders of the period")
    previous: int
    change: float | None

    @classmethod
    def of(cls, c: CategoryShare) -> "CategoryShareOut":
        return cls(code=c.code, zh=c.zh, en=c.en, count=c.count, share=c.share, previous=c.previous, change=c.change)


class IntervalOut(BaseModel):
    start: datetime
    values: dict[str, Number]

    @classmethod
    def of(cls, p: IntervalPoint, tz: tzinfo) -> "IntervalOut":
        return cls(start=_at(p.start, tz), values=dict(p.values))


class ReportOut(BaseModel):
    """The daily (or period) report, in the shape of the city's holiday report."""

    title: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    tz: str
    interval: Interval
    totals: list[FigureOut]
    handling: list[FigureOut] = Field(description="work orders: direct (直办) vs transferred (转办), three-party")
    categories: list[CategoryShareOut]
    other_categories: int
    rolling_24h: RollingOut
    intervals: list[IntervalOut]
    rules: RulesOut

    @classmethod
    def of(cls, r: Report, tz: tzinfo) -> "ReportOut":
        return cls(title=r.title, start=_at(r.start, tz), end=_at(r.end, tz),
                   previous_start=_at(r.previous_start, tz), previous_end=_at(r.previous_end, tz), tz=r.tz,
                   interval=Interval(r.interval), totals=[FigureOut.of(f) for f in r.totals],
                   handling=[FigureOut.of(f) for f in r.handling],
                   categories=[CategoryShareOut.of(c) for c in r.categories], other_categories=r.other_categories,
                   rolling_24h=RollingOut.of(r.rolling, tz), intervals=[IntervalOut.of(p, tz) for p in r.intervals],
                   rules=RulesOut.of(r.rules))
