"""The reports as JSON and CSV text, and back (pure: text in, text out; the shell writes files).

Why both ways: an auditor re-reads what was sent to the city government; a test proves the
export loses nothing (every value written is the value computed, floats in full precision,
a missing value empty, never 0).

JSON keeps the report's structure (``report_to_dict``/``report_from_dict``); CSV is long
(one value per line: section, group, key, labels, unit, value, previous, change) for the
daily report, so a spreadsheet filters it, and wide (one line per agent or agency) for the
group tables.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import datetime, tzinfo
from typing import Any, Iterable, Mapping

from kpi.definitions import KpiRules, Rolling, Value, Window
from kpi.report import CategoryShare, Figure, GroupLine, GroupReport, IntervalPoint, Report, label

REPORT_COLUMNS = ("section", "group", "key", "zh", "en", "unit", "value", "previous", "change")


def _local(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).isoformat()


def _window(w: Window | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {"start": w.start, "end": w.end, "live_offered": w.live_offered, "answered": w.answered,
            "short_abandoned": w.short_abandoned, "connect_rate": w.connect_rate,
            "connect_rate_excl_short": w.connect_rate_excl_short}


def _figure(f: Figure) -> dict[str, Any]:
    return {"key": f.key, "zh": f.zh, "en": f.en, "unit": f.unit, "value": f.value, "previous": f.previous,
            "change": f.change}


def report_to_dict(report: Report, tz: tzinfo) -> dict[str, Any]:
    """The report as plain JSON values (epoch seconds, and the same times in local ISO form)."""
    return {
        "kind": "report", "title": report.title, "tz": report.tz, "interval": report.interval,
        "start": report.start, "end": report.end, "previous_start": report.previous_start,
        "previous_end": report.previous_end, "start_local": _local(report.start, tz),
        "end_local": _local(report.end, tz),
        "totals": [_figure(f) for f in report.totals], "handling": [_figure(f) for f in report.handling],
        "categories": [{"code": c.code, "zh": c.zh, "en": c.en, "count": c.count, "share": c.share,
                        "previous": c.previous, "change": c.change} for c in report.categories],
        "other_categories": report.other_categories,
        "rolling": {"worst": _window(report.rolling.worst), "current": _window(report.rolling.current),
                    "partial": report.rolling.partial},
        "intervals": [{"start": p.start, "start_local": _local(p.start, tz), "values": dict(p.values)}
                      for p in report.intervals],
        "rules": asdict(report.rules),
    }


def _window_of(raw: Mapping[str, Any] | None) -> Window | None:
    if raw is None:
        return None
    return Window(raw["start"], raw["end"], raw["live_offered"], raw["answered"], raw["short_abandoned"])


def report_from_dict(raw: Mapping[str, Any]) -> Report:
    """The report back from ``report_to_dict`` (derived values, such as changes, recomputed)."""
    return Report(
        title=raw["title"], start=raw["start"], end=raw["end"], previous_start=raw["previous_start"],
        previous_end=raw["previous_end"], tz=raw["tz"], interval=raw["interval"],
        totals=tuple(Figure(f["key"], f["value"], f["previous"]) for f in raw["totals"]),
        handling=tuple(Figure(f["key"], f["value"], f["previous"]) for f in raw["handling"]),
        categories=tuple(CategoryShare(c["code"], c["zh"], c["en"], c["count"], c["share"], c["previous"])
                         for c in raw["categories"]),
        other_categories=raw["other_categories"],
        rolling=Rolling(_window_of(raw["rolling"]["worst"]), _window_of(raw["rolling"]["current"]),
                        raw["rolling"]["partial"]),
        intervals=tuple(IntervalPoint(p["start"], dict(p["values"])) for p in raw["intervals"]),
        rules=KpiRules(**raw["rules"]))


def report_to_json(report: Report, tz: tzinfo) -> str:
    return json.dumps(report_to_dict(report, tz), ensure_ascii=False, indent=2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)


def report_rows(report: Report, tz: tzinfo) -> list[dict[str, str]]:
    """The daily report as long CSV rows (``REPORT_COLUMNS``)."""
    rows: list[dict[str, Any]] = []

    def add(section: str, group: str, key: str, unit: str, value: Any, previous: Any = None,
            delta: Any = None, names: tuple[str, str] | None = None) -> None:
        zh, en = names or label(key)[:2]
        rows.append({"section": section, "group": group, "key": key, "zh": zh, "en": en, "unit": unit,
                     "value": value, "previous": previous, "change": delta})

    for section, figures in (("totals", report.totals), ("handling", report.handling)):
        for f in figures:
            add(section, "", f.key, f.unit, f.value, f.previous, f.change)
    for c in report.categories:
        add("categories", c.code, "count", "count", c.count, c.previous, c.change, (c.zh, c.en))
        add("categories", c.code, "share", "ratio", c.share, None, None, (c.zh, c.en))
    add("categories", "other", "count", "count", report.other_categories, None, None, ("其他", "Other"))
    for name, w in (("worst", report.rolling.worst), ("current", report.rolling.current)):
        for key, value in (_window(w) or {}).items():
            unit = "ratio" if key.startswith("connect") else "epoch" if key in ("start", "end") else "count"
            add("rolling_24h", name, key, unit, value, None, None, (key, key))
    for p in report.intervals:
        for key, value in p.values.items():
            add("intervals", _local(p.start, tz), key, label(key)[2], value)
    return [{k: _cell(v) for k, v in row.items()} for row in rows]


def to_csv(rows: Iterable[Mapping[str, str]], columns: Iterable[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def report_to_csv(report: Report, tz: tzinfo) -> str:
    return to_csv(report_rows(report, tz), REPORT_COLUMNS)


def parse_value(text: str) -> Value:
    """A CSV cell back to its value: empty is None, an integer stays an int."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def group_rows(report: GroupReport) -> list[dict[str, str]]:
    """A per-agent or per-agency table as wide CSV rows: key, name, then every column."""
    return [{"key": line.key, "name": line.name, **{k: _cell(line.values.get(k)) for k in report.columns}}
            for line in report.lines]


def group_to_csv(report: GroupReport) -> str:
    return to_csv(group_rows(report), ("key", "name", *report.columns))


def group_to_dict(report: GroupReport, tz: tzinfo) -> dict[str, Any]:
    return {"kind": report.kind, "tz": report.tz, "start": report.start, "end": report.end,
            "start_local": _local(report.start, tz), "end_local": _local(report.end, tz),
            "columns": [{"key": k, "zh": label(k)[0], "en": label(k)[1], "unit": label(k)[2]} for k in report.columns],
            "lines": [{"key": line.key, "name": line.name, "values": dict(line.values)} for line in report.lines]}


def group_from_dict(raw: Mapping[str, Any]) -> GroupReport:
    return GroupReport(raw["kind"], raw["start"], raw["end"], raw["tz"], tuple(c["key"] for c in raw["columns"]),
                       tuple(GroupLine(line["key"], line["name"], dict(line["values"])) for line in raw["lines"]))
