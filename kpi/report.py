"""The daily or period report, in the shape of the city's holiday report (seed 000): totals,
direct vs transferred handling, the top categories with their shares, each with its change
against the previous period of the same length; and the per-agent and per-agency tables.

Why pure: the CLI, the API and a test build the same report from the same facts
(``kpi.facts.PeriodData``, current and previous), so the numbers a city leader reads are the
ones the test computed by hand. Every figure is a KPI of ``kpi.definitions`` by its key: the
report adds no arithmetic of its own beyond shares and changes.

Changes: for a count or a duration, the relative change ``(now - before) / before`` (none
when there was nothing before); for a rate, the difference in percentage points (a rate
going from 90 % to 95 % changed by +0.05, "5 个百分点").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Callable, Mapping

from kpi.definitions import (BY_KEY, CATEGORY_LEVELS, KpiRules, Rolling, Value, Window, kpi_rows, kpis,
                             rolling_connect)
from kpi.facts import PeriodData

TOTAL_KEYS = ("arrived", "offered", "answered", "abandoned", "short_abandoned", "ivr_abandoned", "connect_rate",
              "connect_rate_excl_short", "service_level", "sl2_app_queue", "asa", "asa_p90", "aht", "occupancy",
              "callbacks_requested", "callbacks_completed", "callback_tries", "satisfaction_rate",
              "repeat_calls_24h", "repeat_callers_30d")
HANDLING_KEYS = ("work_orders", "orders_direct", "orders_transferred", "direct_handling_rate", "three_party_calls",
                 "conference_calls", "live_transfers")
INTERVAL_KEYS = ("offered", "answered", "abandoned", "connect_rate", "service_level")
AGENT_KEYS = ("answered", "callback_tries", "aht", "talk_mean", "hold_mean", "wrap_mean", "three_party_calls",
              "work_orders", "direct_handling_rate", "satisfaction_rate")
AGENT_EXTRA_KEYS = ("rings", "rona", "logged_in_seconds", "paused_seconds", "busy_seconds", "occupancy")
AGENCY_KEYS = ("work_orders", "satisfaction_rate")  # of the calls the agency took part in
AGENCY_EXTRA_KEYS = ("legs_dialled", "legs_answered", "legs_failed", "conference_calls", "live_transfers_to",
                     "orders_transferred_to")
# Labels of the figures that are not KPIs of the catalogue (per-agent and per-agency extras).
EXTRA_LABELS: Mapping[str, tuple[str, str, str]] = {
    "rings": ("振铃次数", "Rings", "count"), "rona": ("振铃未接次数", "Rings not answered", "count"),
    "logged_in_seconds": ("登录时长", "Logged in", "seconds"), "paused_seconds": ("小休时长", "Paused", "seconds"),
    "busy_seconds": ("忙碌时长", "On calls and wrap-up", "seconds"), "occupancy": ("座席占用率", "Occupancy", "ratio"),
    "legs_dialled": ("呼叫次数", "Legs dialled", "count"), "legs_answered": ("接通次数", "Legs answered", "count"),
    "legs_failed": ("未接通次数", "Legs failed", "count"),
    "conference_calls": ("三方通话量", "Three-party conference calls", "count"),
    "live_transfers_to": ("电话转接量", "Calls handed over", "count"),
    "orders_transferred_to": ("转办工单量", "Work orders transferred", "count"),
}
TOP_CATEGORIES = 6  # the seed report names six


def label(key: str) -> tuple[str, str, str]:
    """(Chinese label, English label, unit) of a KPI or an extra figure."""
    kpi = BY_KEY.get(key)
    return (kpi.zh, kpi.en, kpi.unit) if kpi else EXTRA_LABELS[key]


def change(unit: str, value: Value, previous: Value) -> float | None:
    """The change of a figure (see the module): relative for counts and seconds, in
    points for ratios; None when either side has no value or a count was 0 before."""
    if value is None or previous is None:
        return None
    if unit == "ratio":
        return value - previous
    return (value - previous) / previous if previous else None


@dataclass(frozen=True)
class Figure:
    """One figure of the report with its previous-period value."""

    key: str
    value: Value
    previous: Value

    @property
    def zh(self) -> str:
        return label(self.key)[0]

    @property
    def en(self) -> str:
        return label(self.key)[1]

    @property
    def unit(self) -> str:
        return label(self.key)[2]

    @property
    def change(self) -> float | None:
        return change(self.unit, self.value, self.previous)


@dataclass(frozen=True)
class CategoryShare:
    """A category (a class of the taxonomy by default) with its work orders and share of
    all work orders of the period (约占受理总量的 x %)."""

    code: str
    zh: str
    en: str
    count: int
    share: float | None
    previous: int

    @property
    def change(self) -> float | None:
        return change("count", self.count, self.previous)


@dataclass(frozen=True)
class IntervalPoint:
    """Calls and service level of one interval (the calls chart)."""

    start: float
    values: Mapping[str, Value]


@dataclass(frozen=True)
class Report:
    """The daily (or period) report. Times are epoch seconds; ``tz`` names the local zone
    the days and intervals are counted in."""

    title: str
    start: float
    end: float
    previous_start: float
    previous_end: float
    tz: str
    interval: str
    totals: tuple[Figure, ...]
    handling: tuple[Figure, ...]
    categories: tuple[CategoryShare, ...]
    other_categories: int
    rolling: Rolling
    intervals: tuple[IntervalPoint, ...]
    rules: KpiRules = field(default_factory=KpiRules)

    def figure(self, key: str) -> Figure:
        return next(f for f in (*self.totals, *self.handling) if f.key == key)


@dataclass(frozen=True)
class GroupLine:
    """One row of a per-agent or per-agency table."""

    key: str
    name: str
    values: Mapping[str, Value]


@dataclass(frozen=True)
class GroupReport:
    """The per-agent (``agents``) or per-agency (``agencies``) table of a period."""

    kind: str
    start: float
    end: float
    tz: str
    columns: tuple[str, ...]
    lines: tuple[GroupLine, ...]


Names = Callable[[str], tuple[str, str]]  # a code (category, agency) -> (Chinese, English) name


def _no_names(code: str) -> tuple[str, str]:
    return code, code


def interval_for(start: float, end: float) -> str:
    """The interval of a report's chart: hours for a day or less, days beyond."""
    return "1h" if end - start <= 86400.0 else "1d"


def daily_report(current: PeriodData, previous: PeriodData, tz: tzinfo, rules: KpiRules = KpiRules(),
                 names: Names = _no_names, top: int = TOP_CATEGORIES, interval: str | None = None,
                 category_level: str = "class") -> Report:
    """The report of ``current`` against ``previous`` (the period of the same length just
    before, or any period to compare with, e.g. the same days a year before)."""
    now = kpis(current.calls, rules, current.spans, (current.start, current.observed_end))
    before = kpis(previous.calls, rules, previous.spans, (previous.start, previous.observed_end))
    interval = interval or interval_for(current.start, current.end)
    categories, other = _categories(current, previous, names, top, CATEGORY_LEVELS[category_level])
    points = tuple(IntervalPoint(float(row.group), {k: row.values[k] for k in INTERVAL_KEYS})
                   for row in kpi_rows(current, "interval", rules, interval, tz))
    return Report(title=_title(current.start, current.end, tz), start=current.start, end=current.end,
                  previous_start=previous.start, previous_end=previous.end, tz=str(tz), interval=interval,
                  totals=tuple(Figure(k, now[k], before[k]) for k in TOTAL_KEYS),
                  handling=tuple(Figure(k, now[k], before[k]) for k in HANDLING_KEYS),
                  categories=categories, other_categories=other,
                  rolling=rolling_connect(current.calls, rules, current.start, current.end),
                  intervals=points, rules=rules)


def _categories(current: PeriodData, previous: PeriodData, names: Names, top: int,
                width: int) -> tuple[tuple[CategoryShare, ...], int]:
    def counts(data: PeriodData) -> dict[str, int]:
        found: dict[str, int] = {}
        for f in data.calls:
            if f.inbound and f.settled and f.order_category:
                code = f.order_category[:width]
                found[code] = found.get(code, 0) + 1
        return found

    now, before = counts(current), counts(previous)
    total = sum(now.values())
    ranked = sorted(now.items(), key=lambda item: (-item[1], item[0]))
    shares = tuple(CategoryShare(code, *names(code), count, count / total if total else None, before.get(code, 0))
                   for code, count in ranked[:top])
    return shares, sum(count for _, count in ranked[top:])


def _title(start: float, end: float, tz: tzinfo) -> str:
    first, last = _day(start, tz), _day(end - 1, tz)
    days = f"{first}" if first == last else f"{first} 至 {last}"
    return f"12345热线运行报告 {days}"


def _day(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")


def agents_report(data: PeriodData, tz: tzinfo, rules: KpiRules = KpiRules()) -> GroupReport:
    """One line per agent who answered, was rung or was logged in during the period."""
    rows = kpi_rows(data, "agent", rules)
    lines = tuple(GroupLine(r.group, r.group, {**{k: r.values[k] for k in AGENT_KEYS},
                                               **{k: r.extra[k] for k in AGENT_EXTRA_KEYS}}) for r in rows)
    return GroupReport("agents", data.start, data.end, str(tz), AGENT_KEYS + AGENT_EXTRA_KEYS, lines)


def agencies_report(data: PeriodData, tz: tzinfo, rules: KpiRules = KpiRules(),
                    names: Names = _no_names) -> GroupReport:
    """One line per agency that took part in a call or was given a work order."""
    rows = kpi_rows(data, "agency", rules)
    lines = tuple(GroupLine(r.group, names(r.group)[0], {**{k: r.values[k] for k in AGENCY_KEYS},
                                                         **{k: r.extra[k] for k in AGENCY_EXTRA_KEYS}})
                  for r in rows)
    return GroupReport("agencies", data.start, data.end, str(tz), AGENCY_KEYS + AGENCY_EXTRA_KEYS, lines)


# -- as text, for a supervisor's terminal or a mail --------------------------------------

def show(unit: str, value: Value) -> str:
    """A value as the report prints it: counts whole, rates in %, durations in seconds."""
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "seconds":
        return f"{value:.1f}秒"
    return f"{value:g}" if isinstance(value, float) else str(value)


def show_change(unit: str, delta: float | None) -> str:
    if delta is None:
        return "-"
    if unit == "ratio":
        return f"{delta * 100:+.2f}个百分点"
    return f"{delta * 100:+.2f}%"


def render_text(report: Report, tz: tzinfo) -> str:
    """The report in Chinese, in the order of the seed report."""
    lines = [report.title, f"(对比时段: {_day(report.previous_start, tz)} 至 {_day(report.previous_end - 1, tz)})", ""]
    for f in (*report.totals, *report.handling):
        lines.append(f"{f.zh}: {show(f.unit, f.value)} (上期 {show(f.unit, f.previous)}, "
                     f"变化 {show_change(f.unit, f.change)})")
    lines += ["", "主要诉求:"]
    for c in report.categories:
        share = show("ratio", c.share)
        lines.append(f"  {c.zh} {c.count}件, 约占受理总量的{share} (上期 {c.previous}件, 变化 "
                     f"{show_change('count', c.change)})")
    if report.other_categories:
        lines.append(f"  其他 {report.other_categories}件")
    lines += ["", _rolling_text(report.rolling, tz)]
    return "\n".join(lines) + "\n"


def _rolling_text(rolling: Rolling, tz: tzinfo) -> str:
    def when(w: Window) -> str:
        return (f"{datetime.fromtimestamp(w.start, tz):%Y-%m-%d %H:%M} 至 "
                f"{datetime.fromtimestamp(w.end, tz):%Y-%m-%d %H:%M}")

    if rolling.worst is None:
        return "24小时滚动接通率: 无转人工来电"
    text = (f"24小时滚动接通率最低 {show('ratio', rolling.worst.connect_rate)} ({when(rolling.worst)}, "
            f"转人工 {rolling.worst.live_offered} 件, 接听 {rolling.worst.answered} 件)")
    return text + (" (时段不足24小时)" if rolling.partial else "")


def render_group_text(report: GroupReport, tz: tzinfo) -> str:
    """A per-agent or per-agency table, one line per row."""
    title = {"agents": "座席报表", "agencies": "承办单位报表"}[report.kind]
    head = f"{title} {_day(report.start, tz)} 至 {_day(report.end - 1, tz)}"
    out = [head, "\t".join(["编号", "名称", *(label(k)[0] for k in report.columns)])]
    for line in report.lines:
        out.append("\t".join([line.key, line.name, *(show(label(k)[2], line.values.get(k)) for k in report.columns)]))
    return "\n".join(out) + "\n"


def previous_period(start: float, end: float) -> tuple[float, float]:
    """The period of the same length just before ``[start, end)``."""
    return start - (end - start), start


def same_days_year_before(start: float, end: float, tz: tzinfo) -> tuple[float, float]:
    """The same local days one year before (同比); 29 February falls back to the 28th."""
    def back(at: float) -> float:
        local = datetime.fromtimestamp(at, tz)
        try:
            return local.replace(year=local.year - 1).timestamp()
        except ValueError:
            return local.replace(day=28, year=local.year - 1).timestamp()
    return back(start), back(end)


__all__ = ["Figure", "CategoryShare", "IntervalPoint", "Report", "GroupLine", "GroupReport", "daily_report",
           "agents_report", "agencies_report", "render_text", "render_group_text", "previous_period",
           "same_days_year_before", "label", "change", "show", "interval_for"]
