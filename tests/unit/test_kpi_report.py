"""``kpi.report`` (the daily report in the seed's shape, its change against the previous
day), ``kpi.export`` (JSON and CSV, there and back), ``hotline.reports.charts`` (PNG charts
whose Chinese labels really render) and ``hotline report`` run as a person types it."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import pytest

from calls.records import CallEvent, CallRecord
from hotline.api.reports_memory import InMemoryReports
from hotline.reports.charts import ChartFontMissing, calls_chart, categories_chart, find_cjk_font, render
from hotline.store.agent_states import AgentStateStore
from hotline.store.calls import CallStore, make_engine, migrate
from hotline.store.work_orders import WorkOrderStore
from kpi import export
from kpi.facts import period_from_records
from kpi.report import (HANDLING_KEYS, TOTAL_KEYS, Report, agencies_report, agents_report, change, daily_report,
                        previous_period, render_group_text, render_text, same_days_year_before)
from tests import kpi_scenario as s
from workorders import FOLDER
from workorders.taxonomy import load_taxonomy

HOTLINE = str(Path(sys.executable).parent / "hotline")
DAY = 86400.0
NAMES = InMemoryReports.shipped().category_name
DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # shipped with matplotlib


def yesterday() -> list[tuple[CallRecord, list[CallEvent]]]:
    """The day before: two calls answered within 15 s, one abandoned after 30 s."""
    t = s.T - DAY
    return [(CallRecord("y1", "13700000001", "12345", t, queued_at=t + 5, answered_at=t + 8, ended_at=t + 60,
                        agent_id="1001", outcome="answered"), []),
            (CallRecord("y2", "13700000002", "12345", t + 100, queued_at=t + 105, answered_at=t + 110,
                        ended_at=t + 200, agent_id="1002", outcome="answered"), []),
            (CallRecord("y3", "13700000003", "12345", t + 300, queued_at=t + 305, ended_at=t + 335,
                        outcome="abandoned"), [])]


def yesterday_orders() -> list[Any]:
    from dataclasses import replace
    base = s.orders()[0]
    return [replace(base, call_id="y1"), replace(base, call_id="y2", category="04.03.01")]


@pytest.fixture(scope="module")
def report() -> Report:
    calls = s.calls() + yesterday()
    orders = s.orders() + yesterday_orders()
    current = period_from_records(s.DAY_START, s.DAY_END, calls, orders, s.states())
    before = previous_period(s.DAY_START, s.DAY_END)
    previous = period_from_records(before[0], before[1], calls, orders, s.states())
    return daily_report(current, previous, s.TZ, names=NAMES)


def test_the_report_has_the_seed_reports_shape(report: Report) -> None:
    assert report.title == "12345热线运行报告 2026-11-30"
    assert [f.key for f in report.totals] == list(TOTAL_KEYS)
    assert [f.key for f in report.handling] == list(HANDLING_KEYS)
    # 受理 5 件 (直办 3 件, 转办 2 件), as "受理14.49万件(直办8.98万件,转办5.51万件)"
    assert (report.figure("work_orders").value, report.figure("orders_direct").value,
            report.figure("orders_transferred").value) == (5, 3, 2)
    assert [(c.code, c.zh, c.count) for c in report.categories] == [("04", "城市公用事业", 3), ("01", "交通出行", 1),
                                                                    ("05", "教育", 1)]
    assert report.categories[0].share == pytest.approx(0.6)  # of all work orders, as "约占受理总量的8.84%"
    assert report.other_categories == 0
    assert len(report.intervals) == 24 and report.interval == "1h"
    nine = next(p for p in report.intervals if p.start == s.T)
    assert (nine.values["offered"], nine.values["answered"], nine.values["service_level"]) == (8, 5, 0.8)


def test_the_change_against_the_previous_day(report: Report) -> None:
    arrived, connect, orders = report.figure("arrived"), report.figure("connect_rate"), report.figure("work_orders")
    assert (arrived.value, arrived.previous) == (9, 3)
    assert arrived.change == pytest.approx(2.0)                              # +200 %
    assert connect.previous == pytest.approx(2 / 3)
    assert connect.change == pytest.approx(5 / 7 - 2 / 3)                   # in points, not relative
    assert (orders.value, orders.previous, orders.change) == (5, 2, pytest.approx(1.5))
    top = report.categories[0]
    assert (top.previous, top.change) == (2, pytest.approx(0.5))
    assert report.previous_start == s.DAY_START - DAY and report.previous_end == s.DAY_START


def test_changes_follow_their_rules() -> None:
    assert change("count", 5, 0) is None and change("count", None, 3) is None
    assert change("ratio", 0.9, 0.95) == pytest.approx(-0.05)
    assert change("seconds", 12.0, 8.0) == pytest.approx(0.5)


def test_the_comparison_periods() -> None:
    assert previous_period(100.0, 400.0) == (-200.0, 100.0)
    start, end = same_days_year_before(s.DAY_START, s.DAY_END, s.TZ)
    assert (s.DAY_START - start, s.DAY_END - end) == (365 * DAY, 365 * DAY)


def test_the_text_reads_like_the_seed_report(report: Report) -> None:
    text = render_text(report, s.TZ)
    assert "受理工单量: 5 (上期 2, 变化 +150.00%)" in text
    assert "城市公用事业 3件, 约占受理总量的60.00%" in text
    assert "接通率: 71.43% (上期 66.67%, 变化 +4.76个百分点)" in text
    assert "24小时滚动接通率最低 71.43%" in text


def test_json_round_trip(report: Report) -> None:
    text = export.report_to_json(report, s.TZ)
    raw = json.loads(text)
    assert raw["totals"][0] == {"key": "arrived", "zh": "来电总量", "en": "Calls arrived", "unit": "count", "value": 9,
                                "previous": 3, "change": 2.0}
    assert raw["start_local"] == "2026-11-30T00:00:00+08:00"
    assert export.report_from_dict(raw) == report


def test_csv_round_trip(report: Report) -> None:
    rows = export.read_csv(export.report_to_csv(report, s.TZ))
    assert tuple(rows[0]) == export.REPORT_COLUMNS
    cells = {(r["section"], r["group"], r["key"]): r for r in rows}
    for section, figures in (("totals", report.totals), ("handling", report.handling)):
        for f in figures:
            row = cells[(section, "", f.key)]
            assert export.parse_value(row["value"]) == f.value, f.key
            assert export.parse_value(row["previous"]) == f.previous, f.key
            assert export.parse_value(row["change"]) == f.change, f.key
    for c in report.categories:
        assert export.parse_value(cells[("categories", c.code, "count")]["value"]) == c.count
        assert export.parse_value(cells[("categories", c.code, "share")]["value"]) == c.share
        assert cells[("categories", c.code, "count")]["zh"] == c.zh
    nine = cells[("intervals", "2026-11-30T09:00:00+08:00", "service_level")]
    assert export.parse_value(nine["value"]) == 0.8
    assert cells[("totals", "", "occupancy")]["previous"] == ""  # no agent time the day before: empty, not 0


def test_group_tables_and_their_csv(report: Report) -> None:
    day = period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders(), s.states())
    agents = agents_report(day, s.TZ)
    assert [line.key for line in agents.lines] == ["1001", "1002", "1003"]
    back = {r["key"]: r for r in export.read_csv(export.group_to_csv(agents))}
    for line in agents.lines:
        for key in agents.columns:
            assert export.parse_value(back[line.key][key]) == line.values[key], (line.key, key)
    assert export.group_from_dict(json.loads(json.dumps(export.group_to_dict(agents, s.TZ)))) == agents
    agencies = agencies_report(day, s.TZ, names=lambda a: ({"water": "市水务局"}.get(a, a), a))
    water = next(line for line in agencies.lines if line.key == "water")
    assert water.name == "市水务局" and water.values["orders_transferred_to"] == 1
    assert "座席报表" in render_group_text(agents, s.TZ) and "承办单位报表" in render_group_text(agencies, s.TZ)


# -- charts -------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def missing_glyphs(draw: Any) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = draw()
    return png, [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.mark.parametrize("name", ["calls", "categories"])
def test_a_chart_is_a_png_of_sensible_size_whose_chinese_renders(report: Report, name: str) -> None:
    png, missing = missing_glyphs(lambda: render(name, report, s.TZ))
    assert missing == []
    assert png_size(png) == (1000, 500)
    assert 10_000 < len(png) < 500_000


def test_the_glyph_check_would_see_boxes_with_a_latin_font(report: Report) -> None:
    _, missing = missing_glyphs(lambda: categories_chart(report, s.TZ, font=DEJAVU))
    assert missing, "a Latin-only font must be reported as missing Chinese glyphs"


def test_an_empty_day_still_draws(report: Report) -> None:
    empty = period_from_records(s.DAY_START + 10 * DAY, s.DAY_END + 10 * DAY, [])
    quiet = daily_report(empty, empty, s.TZ)
    assert png_size(calls_chart(quiet, s.TZ)) == (1000, 500)
    assert png_size(categories_chart(quiet, s.TZ)) == (1000, 500)


def test_a_missing_cjk_font_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ChartFontMissing, match="fonts-wqy-zenhei"):
        find_cjk_font([tmp_path / "none.ttc"])
    assert find_cjk_font().is_file()


# -- the command ----------------------------------------------------------------------------

def _stored(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "var" / "r.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    store = CallStore(engine)
    for record, events in s.calls() + yesterday():
        store.save(record, events)
    orders = WorkOrderStore(engine, load_taxonomy(FOLDER / "taxonomy.yaml"), s.TZ)
    for order in s.orders() + yesterday_orders():
        orders.save(order)
    AgentStateStore(engine).append(s.states())
    engine.dispose()
    return {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_DB_URL": f"sqlite:///{db}"}


def hotline(env: dict[str, str], *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, "report", *argv], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def test_hotline_report_daily_writes_json_and_charts(tmp_path: Path) -> None:
    env = _stored(tmp_path)
    out = tmp_path / "out"
    done = hotline(env, "daily", "--date", "2026-11-30", "--format", "json", "--out", str(out), "--charts",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["chart-calls-2026-11-30.png", "chart-categories-2026-11-30.png",
                                                     "report-daily-2026-11-30.json"]
    raw = json.loads((out / "report-daily-2026-11-30.json").read_text())
    figures = {f["key"]: f for f in raw["totals"] + raw["handling"]}
    assert (figures["answered"]["value"], figures["arrived"]["previous"]) == (5, 3)
    assert figures["occupancy"]["value"] == pytest.approx(590 / 10200)  # capped at the longest wrap-up, 30 s
    assert png_size((out / "chart-calls-2026-11-30.png").read_bytes()) == (1000, 500)


def test_hotline_report_text_agents_and_bad_options(tmp_path: Path) -> None:
    env = _stored(tmp_path)
    text = hotline(env, "daily", "--from", "2026-11-30", "--to", "2026-12-01", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "受理工单量: 5 (上期 2" in text.stdout
    agents = hotline(env, "agents", "--date", "2026-11-30", "--format", "csv", cwd=tmp_path)
    assert agents.returncode == 0 and agents.stdout.splitlines()[1].startswith("1001,1001,2,1,")
    bad = hotline(env, "daily", "--from", "2026-11-30", "--to", "2026-11-29", cwd=tmp_path)
    assert bad.returncode == 2 and "--to must be after --from" in bad.stderr
    charts = hotline(env, "daily", "--charts", cwd=tmp_path)
    assert charts.returncode == 2 and "--charts needs --out" in charts.stderr
