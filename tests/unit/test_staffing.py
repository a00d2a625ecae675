"""planning.staffing and planning.forecast: agents per interval, and the forecast file."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from planning.erlang import erlang_a
from planning.forecast import ForecastError, parse_forecast
from planning.staffing import Target, performance, plan, render_csv, render_text, required

EXAMPLES = Path(__file__).resolve().parents[2] / "planning" / "examples"
GBT = Target()  # 95 % of answered within 15 s, connect rate 95 %


@pytest.mark.parametrize("calls_per_hour", [40, 300, 1500, 6000])
def test_required_is_the_fewest_agents_that_meet_the_target(calls_per_hour: int) -> None:
    rate = calls_per_hour / 3600
    best = required(rate, 240.0, 60.0, GBT)
    assert best.meets(GBT)
    below = performance(best.agents - 1, rate, 240.0, 60.0, 15.0) if best.agents > 1 else None
    assert below is None or not below.meets(GBT)
    exact = erlang_a(best.agents, rate, 240.0, 60.0)
    assert best.sl == pytest.approx(exact.service_level(15.0)) and best.abandon == pytest.approx(exact.p_abandon)


def test_without_patience_it_is_erlang_c_westbay_needs_55_agents_for_its_84_6_percent() -> None:
    # Westbay's example (see test_erlang.py): 360 calls per half hour, 240 s, 55 agents -> 0.8459 in 15 s
    best = required(0.2, 240.0, None, Target(sl=0.8458, seconds=15.0, connect=0.0))
    assert best.agents == 55 and best.connect == 1.0 and best.abandon == 0.0


def test_the_connect_rate_can_be_what_binds() -> None:
    # impatient callers: the service level is reached before the abandonment is low enough
    rate, aht = 600 / 3600, 240.0
    only_sl = required(rate, aht, 20.0, Target(sl=0.95, seconds=15.0, connect=0.0))
    both = required(rate, aht, 20.0, GBT)
    assert both.agents > only_sl.agents and both.connect >= 0.95


def test_no_calls_need_no_agents() -> None:
    assert required(0.0, 240.0, 60.0, GBT).agents == 0


def _forecast(text: str) -> tuple:
    return parse_forecast(text)


def test_plan_applies_shrinkage_and_a_rows_own_aht() -> None:
    intervals = _forecast("start,calls,aht\n08:00,300,\n08:15,300,400\n")
    plans = plan(intervals, 240.0, 60.0, GBT, shrinkage=0.3)
    assert [p.aht for p in plans] == [240.0, 400.0]
    assert plans[1].agents > plans[0].agents
    assert all(p.scheduled == math.ceil(p.agents / 0.7) for p in plans)
    assert plans[0].load == pytest.approx(300 / 900 * 240)


def test_groups_as_isolated_pools_never_need_fewer_agents_than_one_pool() -> None:
    intervals = _forecast("start,calls,zh,en,business\n10:00,1600,1400,120,80\n11:00,40,36,2,2\n")
    for p in plan(intervals, 240.0, 60.0, GBT):
        assert p.isolated is not None and p.isolated >= p.agents
    assert plan(intervals, 240.0, 60.0, GBT)[0].isolated > plan(intervals, 240.0, 60.0, GBT)[0].agents


def test_forecast_steps_are_read_from_the_starts_and_roll_over_midnight() -> None:
    rows = _forecast("start,calls\n23:30,10\n23:45,12\n00:00,8\n")
    assert [r.seconds for r in rows] == [900.0, 900.0, 900.0]
    assert [r.offset for r in rows] == [0.0, 900.0, 1800.0]
    dated = _forecast("start,calls\n2026-10-01 22:00,100\n2026-10-01T23:00,90\n2026-10-02 00:00,80\n")
    assert [r.seconds for r in dated] == [3600.0] * 3 and dated[2].offset == 7200.0


@pytest.mark.parametrize("text,problem", [
    ("begin,calls\n08:00,1\n", "header"),
    ("start,calls\n08:00,abc\n", "not a number"),
    ("start,calls\n08:00,-3\n", ">= 0"),
    ("start,calls\n2026-10-01 08:00,1\n2026-10-01 07:00,1\n", "not after"),
    ("start,calls\n8 o'clock,1\n", "HH:MM"),
    ("start,calls\n08:00,1,2\n", "cells"),
    ("start,calls\n", "no interval"),
])
def test_bad_forecasts_are_refused_with_the_line(text: str, problem: str) -> None:
    with pytest.raises(ForecastError, match=problem):
        parse_forecast(text)


def test_the_shipped_examples_plan_a_normal_day_and_the_holiday_week() -> None:
    normal = parse_forecast((EXAMPLES / "normal_day.csv").read_text())
    week = parse_forecast((EXAMPLES / "holiday_week.csv").read_text())
    assert len(normal) == 96 and all(r.seconds == 900 for r in normal)
    assert len(week) == 8 * 24 and all(r.seconds == 3600 for r in week)
    assert sum(r.calls for r in week) / 8 == pytest.approx(22_900, rel=0.01)  # Jinan's holiday week
    assert {name for name, _ in week[0].groups} == {"main_zh", "main_foreign", "business"}
    normal_plan = plan(normal, 240.0, 60.0, GBT, 0.3)
    week_plan = plan(week, 240.0, 60.0, GBT, 0.3)
    assert max(p.agents for p in week_plan) > max(p.agents for p in normal_plan) * 1.2
    night = min(week_plan, key=lambda p: p.interval.calls)
    assert 0 < night.agents < max(p.agents for p in week_plan) / 5
    text = render_text(week_plan, GBT, 60.0, 0.3)
    assert "peak" in text and "isolated pools" in text
    assert render_csv(normal_plan).splitlines()[0].startswith("start,calls,aht,erlangs,agents,sl,connect")


def test_the_command_prints_one_row_per_interval(capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.ops.cli import main

    assert main(["plan", "staffing", str(EXAMPLES / "normal_day.csv"), "--format", "csv", "--shrinkage", "0.3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 97 and lines[1].startswith("00:00,")
