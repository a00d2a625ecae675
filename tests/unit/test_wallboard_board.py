"""The wallboard's pure assembly (``hotline/wallboard/board.py``) on a scenario whose every
figure is worked out by hand below, and ``LiveWallboard`` (``hotline/wallboard/live.py``)
over in-memory callables: the KPI cache, a failing load, a live state that does not answer,
a caller whose agent's phone rings, and the change feed (notifications and the poll)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from acd.model import QueuePolicy
from agents.state import AgentRecord, AgentState
from calls.records import CallRecord
from hotline.api.ports import Unavailable
from hotline.wallboard import board
from hotline.wallboard.alerts import AlertRules, ConnectRateRule, HotTopicRule, LongWaitRule, ServiceLevelRule
from hotline.wallboard.live import ChangeFanout, LiveWallboard
from kpi.definitions import KpiRules
from kpi.facts import PeriodData, period_from_records

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=TZ).timestamp()
MIDNIGHT = datetime(2026, 11, 30, 0, 0, tzinfo=TZ).timestamp()
POLICIES = {"main": QueuePolicy(name="main", title="12345 市民热线"),
            "province": QueuePolicy(name="province", sl_target=20.0, title="省级热线"),
            "business": QueuePolicy(name="business")}
NAMES = {"04.01": ("供水", "Water supply"), "01.01": ("道路交通管理", "Road traffic management")}


def record(call_id: str, line: str, queued: float, outcome: str, wait: float = 0.0,
           caller: str = "13800000000") -> CallRecord:
    """A stored call that entered ``line`` at ``queued`` (10 s after it arrived)."""
    answered = queued + wait if outcome == "answered" else None
    ended = (answered + 60) if answered is not None else queued + wait
    return CallRecord(call_id=call_id, caller=caller, dnis="12345", arrived_at=queued - 10, queue=line,
                      language="zh", queued_at=queued, answered_at=answered, ended_at=ended,
                      agent_id="1001" if answered is not None else "", outcome=outcome)


# The scenario (NOW = Monday 10:00, Shanghai):
#   main, last 15 min: answered after 5 s and after 20 s, abandoned after 3 s (short) and after
#     30 s, a callback booked;  main at 08:00: answered after 2 s;
#   province (sl_target 20 s), last 15 min: answered after 16 s;
#   yesterday 20:00 (in the 24 hours, not today): main, abandoned after 40 s;
#   an IVR hang-up today (never offered).
SCENARIO = [
    record("m1", "main", NOW - 600, "answered", 5),
    record("m2", "main", NOW - 500, "answered", 20),
    record("m3", "main", NOW - 400, "abandoned", 3),
    record("m4", "main", NOW - 300, "abandoned", 30),
    record("m5", "main", NOW - 200, "callback_requested", 40),
    record("m6", "main", NOW - 7200, "answered", 2),
    record("p1", "province", NOW - 450, "answered", 16),
    record("y1", "main", NOW - 14 * 3600, "abandoned", 40),
    CallRecord(call_id="i1", caller="13900000000", dnis="12345", arrived_at=NOW - 100, ended_at=NOW - 90,
               outcome="ivr_hangup"),
]


def period(records: list[CallRecord], start: float, end: float, orders: list[Any] = ()) -> PeriodData:
    return period_from_records(start, end, [(r, []) for r in records], orders, (), end)


def scenario_figures(rules: KpiRules = KpiRules()) -> board.Figures:
    start, end = board.load_window(NOW, TZ, rules)
    return board.figures(period(SCENARIO, start, end), NOW, board.day_start(NOW, TZ), POLICIES, rules)


# -- the figures ---------------------------------------------------------------------------------

def test_the_day_starts_at_local_midnight_and_the_load_covers_the_last_24_hours() -> None:
    assert board.day_start(NOW, TZ) == MIDNIGHT
    assert board.load_window(NOW, TZ, KpiRules()) == (NOW - 86400, NOW)
    assert board.history_windows(NOW, 2) == [(NOW - 86400 - 3600, NOW - 86400),
                                            (NOW - 2 * 86400 - 3600, NOW - 2 * 86400)]


def test_todays_and_the_last_15_minutes_figures_per_line_are_the_kpi_modules() -> None:
    f = scenario_figures()
    main, recent = f.today["main"], f.recent["main"]
    # main today: offered 6 (5 in 15 min + m6), of which 1 callback; answered m1 m2 m6; abandoned m3 m4
    assert (main["offered"], main["answered"], main["abandoned"], main["short_abandoned"],
            main["callbacks_requested"]) == (6, 3, 2, 1, 1)
    assert main["connect_rate"] == pytest.approx(3 / 5)
    assert main["service_level"] == pytest.approx(2 / 3)        # 5 s and 2 s within 15 s; 20 s not
    assert main["asa"] == pytest.approx((5 + 20 + 2) / 3)
    assert (recent["offered"], recent["answered"], recent["abandoned"]) == (5, 2, 2)
    assert recent["service_level"] == pytest.approx(1 / 2)
    assert recent["connect_rate"] == pytest.approx(2 / 4)
    # province counts "within" with its own 20 s: 16 s is in
    assert f.today["province"]["service_level"] == 1.0 and f.recent["province"]["answered"] == 1
    # business: no call, a row all the same (counts 0, ratios without a value)
    assert f.today["business"]["offered"] == 0 and f.today["business"]["service_level"] is None
    assert "" not in f.today and "-" not in f.today  # the IVR hang-up has no line
    # the whole hotline with the common 15 s rule: m1, m6 within; m2, p1 not
    assert f.today_total["offered"] == 7 and f.today_total["service_level"] == pytest.approx(2 / 4)
    # rolling 24 h: today's 6 live offered + yesterday's abandon; 4 answered
    assert f.rolling is not None
    assert (f.rolling.live_offered, f.rolling.answered) == (7, 4)
    assert f.rolling.connect_rate == pytest.approx(4 / 7)
    assert f.as_of == NOW and f.stale is False


def test_hot_topics_compare_the_last_hour_with_the_same_hour_of_the_previous_days() -> None:
    hour_calls, orders = [], []
    for i in range(12):  # water supply (04.01.xx): 12 calls in the last hour
        hour_calls.append(record(f"w{i}", "main", NOW - 3000 + i * 60, "answered", 3))
        orders.append({"call_id": f"w{i}", "category": "04.01.01", "handling": "direct"})
    for i in range(14):  # road traffic (01.01.xx): 14 calls in the last hour
        hour_calls.append(record(f"r{i}", "main", NOW - 3000 + i * 60, "answered", 3))
        orders.append({"call_id": f"r{i}", "category": "01.01.02", "handling": "direct"})
    history, past_orders = [], []
    for day in range(1, 8):  # usually: 2 water calls and 5 road-traffic calls in that hour
        at = NOW - day * 86400 - 1800
        for i in range(2):
            history.append(record(f"h{day}w{i}", "main", at + i, "answered", 3))
            past_orders.append({"call_id": f"h{day}w{i}", "category": "04.01.03", "handling": "direct"})
        for i in range(5):
            history.append(record(f"h{day}r{i}", "main", at + 10 + i, "answered", 3))
            past_orders.append({"call_id": f"h{day}r{i}", "category": "01.01.01", "handling": "direct"})
    days = [period(history, lo, hi, past_orders) for lo, hi in board.history_windows(NOW, 7)]
    usual = board.usual_rates(days, 7, "subclass")
    assert usual == {"04.01": 2.0, "01.01": 5.0}
    start, end = board.load_window(NOW, TZ, KpiRules())
    f = board.figures(period(hour_calls, start, end, orders), NOW, MIDNIGHT, POLICIES, usual=usual)
    assert [(c.code, c.last_hour, c.usual) for c in f.categories] == [("01.01", 14, 5.0), ("04.01", 12, 2.0)]
    snap = board.snapshot(NOW, [], [], POLICIES, f, AlertRules(), MIDNIGHT, lambda code: NAMES.get(code, (code, code)))
    hot = [a for a in snap["alerts"] if a["kind"] == "hot_topic"]
    assert [(a["category"], a["value"], a["threshold"]) for a in hot] == [("04.01", 12.0, 10.0)]  # 14 < 3 x 5
    assert hot[0]["details"]["name_zh"] == "供水" and hot[0]["details"]["ratio"] == 6.0
    assert snap["categories"][0] == {"code": "01.01", "name_zh": "道路交通管理", "name_en": "Road traffic management",
                                     "last_hour": 14, "usual": 5.0, "ratio": 2.8}
    by_class = board.category_counts(period(hour_calls, NOW - 3600, NOW, orders), "class")
    assert by_class == {"01": 14, "04": 12}


# -- the snapshot --------------------------------------------------------------------------------

def live_state() -> tuple[list[Any], list[AgentRecord]]:
    calls = [
        board.queued_call("c1", "main", NOW - 30, skills=["utilities"]),
        board.queued_call("c2", "main", NOW - 75, language="en"),
        board.queued_call("c3", "main", NOW - 12, offered_to="1002"),
        board.queued_call("c4", "legal_aid", NOW - 5),                      # a line not in the policies
        board.queued_call("cb1", "main", NOW - 900, callback=True, attempts=1, not_before=NOW + 120),
        board.queued_call("cb2", "province", NOW - 400, callback=True),
    ]
    agents = [
        AgentRecord("1003", AgentState.PAUSED, since=NOW - 300, pause_reason="meal"),
        AgentRecord("1001", AgentState.ON_CALL, since=NOW - 65, call_id="m9", queue="main", calls_taken=4,
                    pause_reason="training"),
        AgentRecord("1002", AgentState.RINGING, since=NOW - 3, call_id="c3", queue="main"),
        AgentRecord("1004", AgentState.WRAP_UP, since=NOW - 40, wrap_until=NOW - 20, call_id="m8", queue="main"),
        AgentRecord("1005", AgentState.WRAP_UP, since=NOW - 40, wrap_until=NOW - 10, call_id="m7", queue="main",
                    pause_reason="break"),
        AgentRecord("1006", AgentState.WRAP_UP, since=NOW - 5, wrap_until=NOW + 15, call_id="m6", queue="main"),
    ]
    return calls, agents


def test_the_snapshot_shows_who_waits_how_long_agents_in_their_states_and_callbacks() -> None:
    calls, agents = live_state()
    rules = AlertRules(connect_rate=ConnectRateRule(min_offered=5), long_wait=LongWaitRule(seconds=60))
    snap = board.snapshot(NOW, calls, agents, POLICIES, scenario_figures(), rules, MIDNIGHT)
    assert [line["line"] for line in snap["lines"]] == ["main", "province", "business", "legal_aid"]
    main = snap["lines"][0]
    assert (main["title"], main["sl_target_seconds"], main["sl_goal"]) == ("12345 市民热线", 15.0, 0.8)
    assert [(w["call_id"], w["waited"], w["offered"], w["agent"]) for w in main["waiting"]] == [
        ("c2", 75.0, False, None), ("c1", 30.0, False, None), ("c3", 12.0, True, "1002")]
    assert main["waiting"][0]["language"] == "en" and main["waiting"][1]["skills"] == ["utilities"]
    assert (main["waiting_count"], main["offered_count"], main["longest_wait"], main["callbacks"]) == (3, 1, 75.0, 1)
    assert main["today"]["offered"] == 6 and main["last_15m"]["service_level"] == 0.5
    assert snap["lines"][1]["sl_target_seconds"] == 20.0 and snap["lines"][1]["callbacks"] == 1
    assert snap["lines"][3]["title"] == "legal_aid" and snap["lines"][3]["sl_target_seconds"] is None
    assert snap["totals"]["waiting"] == 4 and snap["totals"]["longest_wait"] == 75.0
    assert snap["totals"]["callbacks"] == 2 and snap["totals"]["today"]["offered"] == 7

    agents_out = {a["agent_id"]: a for a in snap["agents"]}
    assert [a["agent_id"] for a in snap["agents"]] == ["1001", "1002", "1003", "1004", "1005", "1006"]
    assert agents_out["1003"]["state"] == "paused" and agents_out["1003"]["pause_reason"] == "meal"
    assert agents_out["1003"]["in_state"] == 300
    assert agents_out["1001"]["state"] == "on_call" and agents_out["1001"]["pause_pending"] == "training"
    assert agents_out["1001"]["pause_reason"] is None and agents_out["1001"]["calls_taken"] == 4
    # a wrap-up that is over shows as what follows it, since its end
    assert (agents_out["1004"]["state"], agents_out["1004"]["in_state"]) == ("available", 20)
    assert (agents_out["1005"]["state"], agents_out["1005"]["pause_reason"]) == ("paused", "break")
    assert agents_out["1005"]["in_state"] == 10
    assert agents_out["1006"]["state"] == "wrap_up" and agents_out["1006"]["wrap_until"] == NOW + 15
    assert snap["agents_by_state"] == {"logged_out": 0, "available": 1, "reserved": 0, "ringing": 1, "on_call": 1,
                                       "wrap_up": 1, "paused": 2}

    assert [(c["call_id"], c["line"], c["waited"], c["attempts"], c["due"]) for c in snap["callbacks"]] == [
        ("cb1", "main", 900.0, 1, False), ("cb2", "province", 400.0, 0, True)]
    assert snap["callbacks"][0]["not_before"] == NOW + 120 and snap["callbacks"][1]["not_before"] is None

    assert snap["rolling_24h"]["offered"] == 7 and snap["rolling_24h"]["connect_rate"] == pytest.approx(4 / 7)
    assert snap["rolling_24h"]["goal"] == 0.95
    kinds = [(a["kind"], a["line"]) for a in snap["alerts"]]
    assert kinds == [("connect_rate", None), ("service_level", "main"), ("long_wait", "main")]
    assert snap["alerts"][1]["value"] == 0.5 and snap["alerts"][1]["threshold"] == 0.8
    assert (snap["at"], snap["day_start"], snap["kpi_as_of"], snap["kpi_stale"]) == (NOW, MIDNIGHT, NOW, False)
    assert "13800000000" not in json.dumps(snap)  # no caller's number on the wall
    json.dumps(snap, allow_nan=False)  # plain JSON


def test_before_any_figure_the_wall_shows_the_live_part_and_no_kpi_value() -> None:
    calls, agents = live_state()
    snap = board.snapshot(NOW, calls, agents, POLICIES, board.Figures(), AlertRules(), MIDNIGHT)
    assert snap["kpi_as_of"] is None
    assert all(v is None for line in snap["lines"] for v in line["today"].values())
    assert snap["rolling_24h"]["connect_rate"] is None and snap["rolling_24h"]["offered"] == 0
    assert [a["kind"] for a in snap["alerts"]] == ["long_wait"]  # c2 waits 75 s
    quiet = board.snapshot(NOW, [], [], {}, board.Figures(), AlertRules(), MIDNIGHT)
    assert quiet["lines"] == [] and quiet["alerts"] == [] and quiet["totals"]["longest_wait"] is None


def test_turned_off_rules_fire_nothing() -> None:
    calls, agents = live_state()
    off = AlertRules(service_level=ServiceLevelRule(enabled=False),
                     connect_rate=ConnectRateRule(enabled=False, min_offered=1),
                     hot_topic=HotTopicRule(enabled=False), long_wait=LongWaitRule(enabled=False))
    snap = board.snapshot(NOW, calls, agents, POLICIES, scenario_figures(), off, MIDNIGHT)
    assert snap["alerts"] == []


def test_the_fingerprint_changes_with_what_the_wall_shows_only() -> None:
    calls, agents = live_state()
    base = board.fingerprint(calls, agents)
    assert board.fingerprint(list(reversed(calls)), list(reversed(agents))) == base
    assert board.fingerprint(calls[1:], agents) != base
    moved = [AgentRecord("1003", AgentState.AVAILABLE, since=NOW), *agents[1:]]
    assert board.fingerprint(calls, moved) != base


# -- LiveWallboard ---------------------------------------------------------------------------------

class Sources:
    """The callables the composition root gives, in memory, counting their calls."""

    def __init__(self) -> None:
        self.calls, self.agents = live_state()
        self.loads: list[tuple[float, float]] = []
        self.fail_load = False
        self.fail_live = False
        self.mono = 0.0
        self.offered: dict[str, Any] = {}

    async def read_live(self) -> tuple[list[Any], list[AgentRecord]]:
        if self.fail_live:
            raise ConnectionError("redis gone")
        return list(self.calls), list(self.agents)

    async def period(self, start: float, end: float, now: float) -> PeriodData:
        self.loads.append((start, end))
        if self.fail_load:
            raise Unavailable("the database does not answer")
        return period(SCENARIO, start, end)

    async def offered_call(self, call_id: str) -> Any:
        return self.offered.get(call_id)

    def wall(self, **kw: Any) -> LiveWallboard:
        options: dict[str, Any] = {"tz": TZ, "clock": lambda: NOW, "monotonic": lambda: self.mono,
                                   "alert_rules": lambda: AlertRules(hot_topic=HotTopicRule(days=2)),
                                   "poll_seconds": None, **kw}
        return LiveWallboard(self.read_live, self.period, lambda: POLICIES, **options)


async def test_the_kpi_part_is_loaded_once_per_ttl_and_kept_when_a_load_fails() -> None:
    src = Sources()
    wall = src.wall(kpi_ttl=5.0, baseline_ttl=300.0, offered_call=src.offered_call)
    first = await wall.snapshot()
    assert src.loads[0] == (NOW - 86400, NOW)
    assert src.loads[1:] == board.history_windows(NOW, 2)  # the usual rates: one hour of each previous day
    assert first["lines"][0]["today"]["offered"] == 6 and first["kpi_stale"] is False
    several = await asyncio.gather(*(wall.snapshot() for _ in range(5)))
    assert len(src.loads) == 3 and all(s["lines"][0]["today"]["offered"] == 6 for s in several)
    src.mono = 6.0  # past the TTL: reloaded, the usual rates kept
    await wall.snapshot()
    assert len(src.loads) == 4
    src.mono, src.fail_load = 12.0, True
    stale = await wall.snapshot()
    assert stale["kpi_stale"] is True and stale["lines"][0]["today"]["offered"] == 6  # the last figures
    assert stale["lines"][0]["waiting_count"] == 3  # the live part is live
    src.mono, src.fail_load = 400.0, False
    again = await wall.snapshot()
    assert again["kpi_stale"] is False and len(src.loads) == 5 + 1 + 2  # failed one, then day + 2 history


async def test_a_live_state_that_does_not_answer_is_unavailable_and_a_ringing_call_stays_on_the_wall() -> None:
    src = Sources()
    wall = src.wall(kpi_ttl=0, offered_call=src.offered_call)
    src.calls = [c for c in src.calls if c.call_id != "c3"]  # claimed: no longer in the waiting set
    src.offered["c3"] = board.queued_call("c3", "main", NOW - 12)  # its hash still says waiting (a race)
    snap = await wall.snapshot()
    ringing = [w for w in snap["lines"][0]["waiting"] if w["call_id"] == "c3"]
    assert ringing == [{"call_id": "c3", "queued_at": NOW - 12, "waited": 12.0, "language": "zh", "skills": [],
                        "priority": 0, "offered": True, "agent": "1002"}]
    src.fail_live = True
    with pytest.raises(Unavailable, match="live state does not answer"):
        await wall.snapshot()


async def test_changes_come_from_notifications_and_from_the_poll() -> None:
    src = Sources()
    told: asyncio.Queue[str] = asyncio.Queue()

    async def notifications() -> AsyncIterator[str]:
        while True:
            yield await told.get()

    wall = src.wall(notifications=notifications, poll_seconds=0.05)
    changes = wall.changes()
    try:
        got = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.2)
        assert not got.done()  # nothing changed: the poll stays quiet
        told.put_nowait("1")
        await asyncio.wait_for(got, 1)
        await asyncio.sleep(0.15)  # the poll takes its new reference
        got = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.1)
        assert not got.done()
        src.calls = src.calls[1:]  # a claim: nothing published, the poll sees it
        await asyncio.wait_for(got, 1)
    finally:
        await changes.aclose()


async def test_the_fanout_wakes_every_wall_once_per_burst() -> None:
    fanout = ChangeFanout()
    walls = [fanout.subscribe(), fanout.subscribe()]
    waiting = [asyncio.ensure_future(anext(w)) for w in walls]
    await asyncio.sleep(0)
    assert fanout.subscribers() == 2
    for _ in range(3):
        fanout.notify()
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    again = asyncio.ensure_future(anext(walls[0]))
    await asyncio.sleep(0.05)
    assert not again.done()  # the burst was one wake-up
    again.cancel()
    await asyncio.gather(again, return_exceptions=True)
    for wall in walls:
        await wall.aclose()
    assert fanout.subscribers() == 0
