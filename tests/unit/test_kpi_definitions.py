"""Every KPI of ``kpi.definitions`` against values worked out by hand for the designed day
of tests/kpi_scenario.py (each call a case: answered at once, after 16 s, short and long
abandons, an IVR hang-up, RONA then answered, a three-party call, a transfer, a callback),
plus a three-day rolling 24-hour window and SL2 against our service level."""
from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest

from calls.records import CallEvent, CallRecord
from hotline.settings import PROJECT_ROOT
from kpi import definitions as d
from kpi.facts import PeriodData, call_facts, disposition, period_from_records, rows_of_record
from tests import kpi_scenario as s

T = s.T
RULES = d.KpiRules()


@pytest.fixture(scope="module")
def day() -> PeriodData:
    return period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders(), s.states())


@pytest.fixture(scope="module")
def values(day: PeriodData) -> dict[str, d.Value]:
    return d.kpis(day.calls, RULES, day.spans, (day.start, day.observed_end))


# -- the facts ------------------------------------------------------------------------------

def test_the_facts_of_each_designed_call(day: PeriodData) -> None:
    f = {x.call_id: x for x in day.calls}
    assert [x.call_id for x in day.calls] == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "cb9"]
    assert "c0" not in f  # before the period: history only
    assert (f["c1"].disposition, f["c1"].wait, f["c1"].talk, f["c1"].wrap) == ("answered", 2.0, 60.0, 20.0)
    assert (f["c2"].wait, f["c2"].line, f["c2"].language, f["c2"].skills) == (16.0, "business", "en",
                                                                               ("social_insurance",))
    assert (f["c3"].disposition, f["c3"].abandoned_in, f["c3"].wait) == ("abandoned", "queue", 3.0)
    assert (f["c5"].disposition, f["c5"].abandoned_in, f["c5"].wait, f["c5"].offered_at) == (
        "ivr_abandoned", "ivr", None, None)  # never queued: no wait, whatever the stored wait_seconds says
    assert (f["c6"].wait, f["c6"].offers, f["c6"].ronas, f["c6"].agent) == (15.0, ("1003", "1001"), ("1003",), "1001")
    assert (f["c7"].handling, f["c7"].hold, f["c7"].talk, f["c7"].agencies) == ("three_party", 30.0, 110.0,
                                                                                 ("housing",))
    assert (f["c8"].handling, f["c8"].hold, f["c8"].talk, f["c8"].agent_talk) == ("transferred", 10.0, 150.0, 50.0)
    assert f["c8"].legs[0].agency == "traffic_police" and f["c8"].legs[0].answered_at == T + 960
    assert (f["c9"].callback_requested, f["c9"].callback_reached, f["c9"].wait) == (True, True, 65.0)
    assert (f["cb9"].disposition, f["cb9"].callback_of, f["cb9"].wrap) == ("callback_try", "c9", 20.0)
    assert (f["c4"].prior_gap, f["c9"].prior_gap, f["c3"].prior_gap, f["c5"].prior_gap) == (100.0, 1100 + 10 * 86400,
                                                                                             None, None)
    assert (f["c6"].order_handling, f["c6"].order_agency, f["c6"].satisfaction) == ("transferred", "water",
                                                                                    "unsatisfied")


def test_dispositions_are_a_table_and_unsettled_calls_are_left_out() -> None:
    assert disposition("callback", "answered") == "callback_try"
    assert disposition("controller", "fallback") == "unsettled"
    assert disposition("fallback", "abandoned") == "abandoned"
    assert disposition("controller", "something_new") == "other"
    running = call_facts(rows_of_record(CallRecord("x", "13900000001", "12345", T, queued_at=T + 1)))
    assert running.disposition == "unsettled"
    assert d.kpis([running])["arrived"] == 0 and d.kpis([running])["offered"] == 0


def test_survey_answer_from_the_event_when_the_record_lacks_it() -> None:
    record = CallRecord("x", "13900000001", "12345", T, queued_at=T, answered_at=T + 1, ended_at=T + 9,
                        agent_id="1001", outcome="answered")
    facts = call_facts(rows_of_record(record, [CallEvent("x", T + 9, "survey", {"satisfaction": "satisfied"})]))
    assert facts.satisfaction == "satisfied"


# -- the KPIs, by hand ------------------------------------------------------------------------

EXPECTED = {
    "arrived": 9, "offered": 8, "answered": 5, "abandoned": 2, "short_abandoned": 1, "abandoned_excl_short": 1,
    "ivr_abandoned": 1, "ivr_served": 0, "callbacks_requested": 1, "callbacks_completed": 1,
    "callback_completion_rate": 1.0, "callback_tries": 1,
    "connect_rate": 5 / 7,                 # answered / (offered 8 - callback 1); the short abandon is a failure
    "connect_rate_excl_short": 5 / 6,      # ... and without it
    "abandon_rate": 2 / 7, "abandon_rate_excl_short": 1 / 6,
    "answered_within_sl": 4,               # waits 2, 16, 15, 2, 5: all but the 16 s one
    "service_level": 4 / 5, "sl_app_queue": 4 / 5,
    "sl2_app_queue": 5 / 7,                # (4 answered + the 3 s abandon) / (5 answered + 2 abandoned)
    "asa": 8.0, "asa_median": 5.0, "asa_p90": 16.0, "mean_abandon_wait": 11.5,
    # handled: c1 60, c2 120, c6 60, c7 110, c8 50 (left at +50), cb9 60 = 460 talk; wraps 20+30+20+20+20+20 = 130
    "aht": 590 / 6, "talk_mean": 460 / 6, "hold_mean": 40 / 6, "wrap_mean": 130 / 6, "wrap_known": 6,
    "rona": 1, "calls_with_rona": 1,
    "occupancy": 590 / 10200,              # busy 240 + 280 + 70; staffed 3 x 3600 - 600 paused
    "work_orders": 5, "orders_direct": 3, "orders_transferred": 2, "direct_handling_rate": 3 / 5,
    "three_party_calls": 2, "conference_calls": 1, "live_transfers": 1,
    "survey_answers": 3, "satisfaction_rate": 2 / 3, "fully_satisfied_rate": 1 / 3,
    "repeat_calls_24h": 1, "repeat_calls_30d": 2, "repeat_rate_24h": 1 / 8, "repeat_rate_30d": 2 / 8,
    "repeat_callers_24h": 1, "repeat_callers_30d": 2,
}


def test_every_kpi_has_a_hand_computed_value() -> None:
    assert set(EXPECTED) == set(d.BY_KEY)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_kpi_equals_the_value_computed_by_hand(values: dict[str, d.Value], key: str) -> None:
    assert values[key] == pytest.approx(EXPECTED[key], abs=1e-12), key


def test_sl2_counts_the_short_abandon_as_a_success_and_ours_does_not(values: dict[str, d.Value]) -> None:
    assert values["service_level"] == 0.8 and values["sl2_app_queue"] == pytest.approx(5 / 7)
    # one more 2-second abandon: SL2 rises, our service level stays, the connect rate falls
    extra = call_facts(rows_of_record(CallRecord("z", "13900000099", "12345", T + 10, queued_at=T + 10,
                                                 ended_at=T + 12, outcome="abandoned")))
    day = period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders())
    more = d.kpis([*day.calls, extra], RULES)
    assert more["sl2_app_queue"] == pytest.approx(6 / 8)
    assert more["sl2_app_queue"] > values["sl2_app_queue"]
    assert more["service_level"] == 0.8
    assert more["connect_rate"] == pytest.approx(5 / 8)
    assert more["connect_rate"] < values["connect_rate"]
    assert more["connect_rate_excl_short"] == pytest.approx(5 / 6)


def test_the_short_abandon_threshold_is_a_rule() -> None:
    day = period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders())
    longer = d.kpis(day.calls, d.KpiRules(short_abandon_seconds=25.0))
    assert longer["short_abandoned"] == 2 and longer["connect_rate_excl_short"] == 1.0
    exact = d.kpis(day.calls, d.KpiRules(short_abandon_seconds=3.0))  # 3 s is not shorter than 3 s
    assert exact["short_abandoned"] == 0


def test_a_ratio_without_a_denominator_has_no_value() -> None:
    empty = d.kpis([], RULES)
    assert empty["connect_rate"] is None and empty["asa"] is None and empty["offered"] == 0


def test_a_wrap_up_longer_than_the_cap_counts_only_the_cap() -> None:
    day = period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders(), s.states())
    capped = d.kpis(day.calls, d.KpiRules(wrap_cap_seconds=20.0), day.spans, (day.start, day.end))
    assert capped["wrap_mean"] == pytest.approx(120 / 6)  # c2's 30 s wrap-up cut to 20
    assert capped["occupancy"] == pytest.approx(580 / 10200)


# -- groups -------------------------------------------------------------------------------

def test_by_line_language_and_skill(day: PeriodData) -> None:
    lines = {r.group: r.values for r in d.kpi_rows(day, "line")}
    assert (lines["business"]["answered"], lines["main"]["answered"], lines["main"]["offered"]) == (1, 4, 7)
    languages = {r.group: r.values for r in d.kpi_rows(day, "language")}
    assert languages["en"]["service_level"] == 0.0 and languages["zh"]["service_level"] == 1.0
    skills = {r.group: r.values for r in d.kpi_rows(day, "skill")}
    assert skills["housing"]["answered"] == 1 and skills["-"]["offered"] == 6


def test_by_agent_counts_their_calls_rings_and_time(day: PeriodData) -> None:
    rows = {r.group: r for r in d.kpi_rows(day, "agent")}
    assert sorted(rows) == ["1001", "1002", "1003"]
    assert rows["1001"].values["answered"] == 2 and rows["1001"].values["callback_tries"] == 1
    assert rows["1001"].values["aht"] == pytest.approx((60 + 20 + 60 + 20 + 60 + 20) / 3)
    assert (rows["1003"].extra["rings"], rows["1003"].extra["rona"]) == (2, 1)
    assert rows["1003"].extra["paused_seconds"] == 600 and rows["1003"].extra["occupancy"] == pytest.approx(70 / 3000)
    assert rows["1002"].extra["occupancy"] == pytest.approx(280 / 3600)


def test_by_agency_and_category(day: PeriodData) -> None:
    agencies = {r.group: r for r in d.kpi_rows(day, "agency")}
    assert sorted(agencies) == ["housing", "traffic_police", "water"]
    assert agencies["traffic_police"].extra == {"legs_dialled": 1, "legs_answered": 1, "legs_failed": 0,
                                                "conference_calls": 0, "live_transfers_to": 1,
                                                "orders_transferred_to": 1}
    assert agencies["housing"].extra["conference_calls"] == 1 and agencies["water"].extra["orders_transferred_to"] == 1
    categories = {r.group: r.values["work_orders"] for r in d.kpi_rows(day, "category")}
    assert categories == {"01": 1, "04": 3, "05": 1, "-": 0}
    items = {r.group for r in d.kpi_rows(day, "category", category_level="item")}
    assert "04.01.02" in items


def test_by_interval_puts_each_call_in_the_quarter_hour_it_arrived(day: PeriodData) -> None:
    rows = d.kpi_rows(day, "interval", RULES, "15m", s.TZ)
    assert len(rows) == 96
    by_start = {datetime.fromtimestamp(float(r.group), s.TZ).strftime("%H:%M"): r.values for r in rows}
    assert by_start["09:00"]["arrived"] == 7 and by_start["09:15"]["arrived"] == 2  # c8 arrived at 09:15:00
    assert by_start["09:15"]["callback_tries"] == 1 and by_start["09:15"]["callbacks_requested"] == 1  # cb9 09:25
    assert by_start["08:45"]["offered"] == 0 and by_start["08:45"]["occupancy"] is None  # nobody logged in
    hours = d.kpi_rows(day, "interval", RULES, "1h", s.TZ)
    assert len(hours) == 24 and sum(r.values["answered"] for r in hours) == 5
    days = d.kpi_rows(day, "interval", RULES, "1d", s.TZ)
    assert len(days) == 1 and days[0].values == d.kpi_rows(day, "period", RULES)[0].values


def test_interval_starts_follow_the_local_clock() -> None:
    starts = d.interval_starts(s.DAY_START + 600, s.DAY_START + 3 * 3600, "1h", s.TZ)
    assert [datetime.fromtimestamp(x, s.TZ).hour for x in starts] == [0, 1, 2]
    with pytest.raises(ValueError):
        d.interval_starts(0, 1, "5m", s.TZ)
    with pytest.raises(ValueError):
        d.kpi_rows(period_from_records(0, 1, []), "colour")


# -- the rolling 24 hours -------------------------------------------------------------------

def _queue_call(call_id: str, at: float, outcome: str, wait: float) -> tuple[CallRecord, list[CallEvent]]:
    if outcome == "answered":
        return CallRecord(call_id, "13900000001", "12345", at, queued_at=at, answered_at=at + wait,
                          ended_at=at + wait + 60, agent_id="1001", outcome="answered"), []
    return CallRecord(call_id, "13900000001", "12345", at, queued_at=at, ended_at=at + wait, outcome="abandoned"), []


def test_the_worst_24_hour_window_and_the_current_one() -> None:
    day1 = datetime(2026, 11, 28, tzinfo=s.TZ).timestamp()
    h = 3600.0
    calls = [_queue_call(f"a{i}", day1 + 9 * h + 60 * i, "answered", 3) for i in range(10)]
    calls += [_queue_call("b0", day1 + 36 * h, "answered", 3), _queue_call("b1", day1 + 36 * h + 60, "abandoned", 3),
              _queue_call("b2", day1 + 36 * h + 120, "abandoned", 20),
              _queue_call("b3", day1 + 36 * h + 180, "answered", 3)]
    calls += [_queue_call(f"c{i}", day1 + 63 * h + 60 * i, "answered", 3) for i in range(10)]
    data = period_from_records(day1, day1 + 3 * 86400, calls)
    rolling = d.rolling_connect(data.calls, RULES, data.start, data.end)
    assert not rolling.partial
    worst = rolling.worst
    assert worst is not None
    # the window that ends just after b2 holds b0, b1 and b2 only: 1 answered of 3
    assert (worst.live_offered, worst.answered, worst.short_abandoned) == (3, 1, 1)
    assert worst.connect_rate == pytest.approx(1 / 3) and worst.connect_rate_excl_short == 0.5
    assert worst.end == pytest.approx(day1 + 36 * h + 120, abs=1e-3)
    assert rolling.current is not None and rolling.current.start == day1 + 2 * 86400
    assert (rolling.current.live_offered, rolling.current.connect_rate) == (10, 1.0)
    whole = d.kpis(data.calls, RULES)
    assert whole["connect_rate"] == pytest.approx(22 / 24)
    assert whole["connect_rate"] > worst.connect_rate  # the whole period hides the bad hours


def test_a_period_shorter_than_a_day_is_one_partial_window(day: PeriodData) -> None:
    short = period_from_records(T, T + 3600, s.calls())
    rolling = d.rolling_connect(short.calls, RULES, short.start, short.end)
    assert rolling.partial and rolling.worst == rolling.current
    assert rolling.worst is not None and rolling.worst.connect_rate == pytest.approx(5 / 7)
    whole_day = d.rolling_connect(day.calls, RULES, day.start, day.end)
    assert whole_day.partial and whole_day.worst is not None and whole_day.worst.live_offered == 7


# -- the words ------------------------------------------------------------------------------

def test_every_kpi_is_defined_in_the_module_docstring_and_in_the_docs() -> None:
    doc = ast.get_docstring(ast.parse(Path(d.__file__).read_text())) or ""
    written = (PROJECT_ROOT / "docs" / "kpis.md").read_text()
    for kpi in d.KPIS:
        assert f"\n    {kpi.key} " in doc, f"{kpi.key} missing from kpi/definitions.py's docstring"
        assert f"`{kpi.key}`" in written, f"{kpi.key} missing from docs/kpis.md"
        assert kpi.unit in ("count", "ratio", "seconds")
        assert kpi.unit != "ratio" or kpi.denominator, f"{kpi.key} is a ratio without a denominator"


def test_the_pure_core_imports_with_io_libraries_blocked() -> None:
    import subprocess
    import sys

    from tests.unit.test_architecture import BLOCKED
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED + ['matplotlib', 'fastapi']!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import kpi.facts, kpi.definitions, kpi.report, kpi.export
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
