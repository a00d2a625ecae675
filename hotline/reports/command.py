"""``hotline report daily|agents|agencies``: a report of the instance's database, printed or
written to files.

    hotline report daily [--date YYYY-MM-DD | --from T --to T] [--compare previous|year]
                         [--format text|csv|json] [--out DIR] [--charts]
    hotline report agents   [same period options] [--format ...] [--out DIR]
    hotline report agencies [same period options] [--format ...] [--out DIR]

Why a module of its own: ``hotline/ops/cli.py`` only parses (its options mirror ``FORMATS``
and ``KINDS``) and calls ``run_report``; the
loading (``hotline.store.kpi_source``), the figures (``kpi``) and the charts
(``hotline.reports.charts``) stay where they are tested. Times given without an offset are
local (the work-order calendar's zone, Asia/Shanghai); a day is a local day; ``--to`` is
exclusive. Without ``--out`` the report goes to standard output (charts need ``--out``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Callable

from kpi.definitions import KpiRules
from kpi.export import group_to_csv, group_to_dict, report_to_csv, report_to_json
from kpi.report import (agencies_report, agents_report, daily_report, previous_period, render_group_text,
                        render_text, same_days_year_before)

FORMATS = ("text", "csv", "json")
KINDS = ("daily", "agents", "agencies")
MAX_DAYS = 366


class ReportError(ValueError):
    """The command's options are wrong (exit 2, with the message)."""


@dataclass(frozen=True)
class Period:
    start: float
    end: float
    label: str  # for file names: 2026-11-30, or 2026-11-01_2026-11-30


def _moment(text: str, tz: tzinfo, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"{name} {text!r}: not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from exc
    if not 2000 <= value.year <= 2999:
        raise ReportError(f"{name} {text!r}: a time between the years 2000 and 2999")
    return value if value.tzinfo else value.replace(tzinfo=tz)


def period_of(args: argparse.Namespace, tz: tzinfo, now: float) -> Period:
    """The period the options name: ``--from``/``--to``, else ``--date``, else today."""
    if args.start:
        first = _moment(args.start, tz, "--from")
        last = _moment(args.end, tz, "--to") if args.end else first + timedelta(days=1)
        if last <= first:
            raise ReportError("--to must be after --from")
        if last - first > timedelta(days=MAX_DAYS):
            raise ReportError(f"a period of at most {MAX_DAYS} days")
        label = f"{first:%Y-%m-%d}" if last - first == timedelta(days=1) else f"{first:%Y-%m-%d}_{last:%Y-%m-%d}"
        return Period(first.timestamp(), last.timestamp(), label)
    if args.end:
        raise ReportError("--to needs --from")
    day = _moment(args.date, tz, "--date").date() if args.date else datetime.fromtimestamp(now, tz).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return Period(start.timestamp(), (start + timedelta(days=1)).timestamp(), day.isoformat())


def render(kind: str, fmt: str, period: Period, load: Callable[[float, float], Any], tz: tzinfo, rules: KpiRules,
           category_name: Callable[[str], tuple[str, str]], agency_name: Callable[[str], tuple[str, str]],
           compare: str = "previous") -> tuple[str, Any]:
    """The report's text in ``fmt`` and the report value (for the charts)."""
    current = load(period.start, period.end)
    if kind == "daily":
        before = previous_period(period.start, period.end) if compare == "previous" else \
            same_days_year_before(period.start, period.end, tz)
        report = daily_report(current, load(*before), tz, rules, category_name)
        text = {"text": lambda: render_text(report, tz), "csv": lambda: report_to_csv(report, tz),
                "json": lambda: report_to_json(report, tz)}[fmt]()
        return text, report
    table = agents_report(current, tz, rules) if kind == "agents" else \
        agencies_report(current, tz, rules, agency_name)
    if fmt == "json":
        return json.dumps(group_to_dict(table, tz), ensure_ascii=False, indent=2), table
    return (render_group_text(table, tz) if fmt == "text" else group_to_csv(table)), table


def run_report(settings: Any, args: argparse.Namespace) -> int:
    """``hotline report``: load, compute, print or write. Exit 2 on wrong options."""
    from hotline.config import load_config
    from hotline.store.calls import make_engine, migrate
    from hotline.store.kpi_source import KpiSource
    from workorders import FOLDER
    from workorders.calendar import load_calendar
    from workorders.taxonomy import load_taxonomy

    tz = load_calendar(FOLDER / "holidays.yaml").tz
    taxonomy = load_taxonomy(FOLDER / "taxonomy.yaml")
    config = load_config(settings)
    rules = KpiRules(wrap_cap_seconds=max((q.wrapup_seconds for q in config.queues.values()), default=None))
    try:
        period = period_of(args, tz, time.time())
        if args.charts and not (args.out and args.kind == "daily"):
            raise ReportError("--charts needs --out and the daily report")
    except ReportError as exc:
        print(f"hotline report: {exc}", file=sys.stderr)
        return 2

    def category_name(code: str) -> tuple[str, str]:
        node = taxonomy.get(code)
        return (node.name_zh, node.name_en) if node else (code, code)

    def agency_name(agency_id: str) -> tuple[str, str]:
        agency = config.directory.get(agency_id)
        return (agency.name_zh, agency.name_en) if agency else (agency_id, agency_id)

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        source = KpiSource(engine)
        now = time.time()
        text, value = render(args.kind, args.format, period, lambda lo, hi: source.load(lo, hi, now), tz, rules,
                             category_name, agency_name, args.compare)
    finally:
        engine.dispose()
    if not args.out:
        sys.stdout.write(text)
        return 0
    from hotline.reports.charts import ChartFontMissing
    try:
        written = write_files(Path(args.out), args.kind, args.format, period, text, value if args.charts else None,
                              tz)
    except ChartFontMissing as exc:
        print(f"hotline report: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def write_files(folder: Path, kind: str, fmt: str, period: Period, text: str, report: Any,
                tz: tzinfo) -> list[Path]:
    """The report's file, and with ``report`` given its charts; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"text": "txt", "csv": "csv", "json": "json"}[fmt]
    main = folder / f"report-{kind}-{period.label}.{suffix}"
    main.write_text(text, encoding="utf-8")
    written = [main]
    if report is not None:
        from hotline.reports.charts import CHARTS, render as draw
        for name in CHARTS:
            path = folder / f"chart-{name}-{period.label}.png"
            path.write_bytes(draw(name, report, tz))
            written.append(path)
    return written
