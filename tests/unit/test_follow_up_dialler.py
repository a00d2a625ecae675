"""The follow-up dialler (hotline/follow_ups/dialler.py) over the in-memory cases (the same
pure rules as the SQL store) and a recording originate: pacing (no call while a line misses
its service level or a citizen waits too long; they resume after; the rate caps), the lease
that keeps a try from being dialled twice, refused numbers, the AMI outcomes of tries that
were not answered, and the line figures pacing reads (from the wall's KPI code)."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

import pytest

from calls.model import QueuedCall
from calls.records import CallEvent, CallRecord
from cases.followup import FollowUpRules, LineFigures, PacingRules
from cases.lifecycle import Accept, Reply
from cases.rules import load_rules
from hotline.api.cases_memory import InMemoryCases
from hotline.asterisk.ami_events import OriginateResult
from hotline.config import ConfigHolder, load_config
from hotline.follow_ups.dialler import FollowUpDialler, outcome_of
from hotline.follow_ups.figures import line_figures
from hotline.follow_ups.session import answers
from hotline.settings import PROJECT_ROOT, from_env
from kpi.definitions import KpiRules
from kpi.facts import period_from_records
from outbound.agencies import load_directory
from workorders.model import WorkOrder, validate

T0 = datetime(2026, 11, 24, 10, 0).timestamp()  # a working day; the rules here have no quiet hours


class Originated:
    """Stands in for ``AmiClient.originate``: records each call it was asked to place."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    async def __call__(self, channel: str, context: str, exten: str, **kw: Any) -> None:
        if self.fail:
            raise ConnectionError("AMI is away")
        self.calls.append({"channel": channel, "context": context, "exten": exten, **kw})


class Records:
    def __init__(self) -> None:
        self.written: list[CallRecord] = []

    async def write(self, record: CallRecord, events: Any) -> bool:
        self.written.append(record)
        return True


class Figures:
    def __init__(self) -> None:
        self.lines = [LineFigures("main", 0.97, 0.8)]

    async def __call__(self, now: float, window: float) -> list[LineFigures]:
        return self.lines


def world(pacing: PacingRules = PacingRules(max_per_minute=2, max_concurrent=2), fail: bool = False) -> Any:
    base = load_rules()
    rules = dataclasses.replace(base, follow_up=FollowUpRules(delay_minutes=0, quiet=(), attempts=2,
                                                               retry_after_minutes=1, ring_seconds=5),
                                pacing=pacing)
    shipped = InMemoryCases.shipped()
    cases = InMemoryCases(lambda: shipped._config, lambda: rules)
    settings = from_env({}).with_overrides(outbound_trunk="127.0.0.1:5099")
    originate, records, figures = Originated(fail), Records(), Figures()
    clock = [T0]
    dialler = FollowUpDialler(settings, lambda: clock[0], ConfigHolder(load_config(from_env({}))), cases, originate,
                              figures, lambda call_id: _language(call_id), lambda: True, records)
    return dialler, cases, originate, records, figures, clock


async def _language(call_id: str) -> str:
    return "en" if call_id.endswith("en") else ""


def replied(cases: InMemoryCases, number: str, at: float, caller: str = "13812345678", call_id: str = "") -> None:
    config = cases._config
    now = datetime.fromtimestamp(at, tz=cases.tz())
    draft = {"call_id": call_id or f"call-{number}", "caller": caller, "agent_id": "2001", "now": now,
             "category": "04.01.01", "request": "经十路123号小区停水两天", "district": "lixia",
             "handling": "transferred", "agency_id": "water"}
    order = validate(draft, config.taxonomy, load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml"),
                     config.districts, config.calendar)
    assert isinstance(order, WorkOrder), order
    asyncio.run(cases.open_case_for(dataclasses.replace(order, case_number=number)))
    asyncio.run(cases.act(number, Accept(), at, "water"))
    asyncio.run(cases.act(number, Reply("done"), at, "water"))


def test_a_due_follow_up_is_dialled_through_the_outbound_trunk_in_the_citizens_language() -> None:
    dialler, cases, originate, _, _, clock = world()
    replied(cases, "C1", T0, call_id="call-en")
    assert asyncio.run(dialler.step(T0 + 1)) == 1
    [call] = originate.calls
    assert call["channel"] == "PJSIP/13812345678@trunk-out"
    assert (call["context"], call["exten"], call["timeout_ms"]) == ("hotline-followup", "s", 5000)
    assert call["variables"]["HOTLINE_FOLLOWUP_CASE"] == "C1"
    assert call["variables"]["HOTLINE_FOLLOWUP_AGI"].startswith("agi://")
    [attempt] = dialler.active.values()
    assert (attempt.case_number, attempt.language, attempt.attempt) == ("C1", "en", 1)
    # the try holds a lease: the next look does not dial the citizen again
    assert asyncio.run(dialler.step(T0 + 30)) == 0
    assert len(originate.calls) == 1


def test_no_follow_up_while_a_line_misses_its_service_level_and_they_resume_after() -> None:
    dialler, cases, originate, _, figures, _ = world()
    replied(cases, "C1", T0)
    figures.lines = [LineFigures("main", 0.97, 0.8), LineFigures("province", 0.5, 0.8)]
    assert asyncio.run(dialler.step(T0 + 1)) == 0
    assert originate.calls == []
    assert dialler.last_pacing is not None and dialler.last_pacing.paused
    assert "line province: service level 50% under its target 80%" in dialler.last_pacing.reason
    figures.lines = [LineFigures("main", 0.97, 0.8, longest_wait_seconds=45.0, waiting=3)]
    assert asyncio.run(dialler.step(T0 + 2)) == 0
    assert "a caller has waited 45 s" in dialler.last_pacing.reason
    figures.lines = [LineFigures("main", 0.97, 0.8), LineFigures("province", None, 0.8)]  # nothing offered: no figure
    assert asyncio.run(dialler.step(T0 + 3)) == 1
    assert len(originate.calls) == 1


def test_the_rate_caps_hold() -> None:
    dialler, cases, originate, _, _, _ = world(PacingRules(max_per_minute=3, max_concurrent=2))
    for n in range(5):
        replied(cases, f"C{n}", T0, caller=f"1381234567{n}")
    assert asyncio.run(dialler.step(T0 + 1)) == 2          # at most 2 at once
    assert asyncio.run(dialler.step(T0 + 2)) == 0
    for attempt in list(dialler.active.values()):       # both answered and done
        asyncio.run(dialler.finish(attempt, "answered", T0 + 20, satisfied=True))
    assert asyncio.run(dialler.step(T0 + 21)) == 1          # 3 per minute: one left in this minute
    assert asyncio.run(dialler.step(T0 + 62)) == 1          # the next minute (one still on the line)
    assert len(originate.calls) == 4


def test_a_try_not_answered_is_recorded_then_retried_then_unreachable() -> None:
    dialler, cases, originate, records, _, clock = world()
    replied(cases, "C1", T0)
    asyncio.run(dialler.step(T0 + 1))
    channel = originate.calls[-1]["channel_id"]
    work = dialler.on_originate_result(OriginateResult(channel, False, "3"))
    assert work is not None
    asyncio.run(work)
    assert dialler.active == {}
    [follow_up] = asyncio.run(cases.follow_ups("C1"))
    assert (follow_up.state, follow_up.attempts, follow_up.last_outcome) == ("scheduled", 1, "no_answer")
    assert asyncio.run(dialler.step(T0 + 30)) == 0          # retry after a minute
    assert asyncio.run(dialler.step(T0 + 62)) == 1
    work = dialler.on_originate_result(OriginateResult(originate.calls[-1]["channel_id"], False, "5"))
    asyncio.run(work)
    [follow_up] = asyncio.run(cases.follow_ups("C1"))
    assert (follow_up.state, follow_up.last_outcome) == ("unreachable", "busy")
    assert [r.outcome for r in records.written] == ["no_answer", "busy"]
    assert {r.source for r in records.written} == {"follow_up"}
    # an answered leg is left to its session
    assert dialler.on_originate_result(OriginateResult("someone-else", False, "3")) is None


def test_a_refused_number_is_never_dialled() -> None:
    dialler, cases, originate, _, _, _ = world()
    replied(cases, "C1", T0, caller="110")  # an emergency number: the number policy refuses it
    asyncio.run(dialler.step(T0 + 1))
    assert originate.calls == []
    [follow_up] = asyncio.run(cases.follow_ups("C1"))
    assert (follow_up.attempts, follow_up.last_outcome) == (1, "failed")


def test_an_originate_that_fails_counts_as_a_failed_try() -> None:
    dialler, cases, originate, records, _, _ = world(fail=True)
    replied(cases, "C1", T0)
    assert asyncio.run(dialler.step(T0 + 1)) == 0
    [follow_up] = asyncio.run(cases.follow_ups("C1"))
    assert (follow_up.attempts, follow_up.last_outcome) == (1, "failed")
    assert records.written[-1].attrs["dial_status"] == "ORIGINATE_FAILED"


@pytest.mark.parametrize("reason, outcome", [("3", "no_answer"), ("1", "no_answer"), ("5", "busy"),
                                             ("8", "failed"), ("0", "failed"), ("", "failed"), ("x", "failed")])
def test_originate_reasons(reason: str, outcome: str) -> None:
    assert outcome_of(reason) == outcome


@pytest.mark.parametrize("attrs, expected", [
    ({"satisfaction": "satisfied", "solved": "yes"}, (True, True, False)),
    ({"satisfaction": "basically_satisfied"}, (True, None, False)),
    ({"satisfaction": "unsatisfied", "solved": "no"}, (False, False, False)),
    ({"satisfaction": "no_answer"}, (None, None, False)),
    ({"to_agent": "yes"}, (None, None, True)),
    ({}, (None, None, False)),
])
def test_the_flows_answers(attrs: dict[str, str], expected: tuple[Any, ...]) -> None:
    assert answers(attrs) == expected


def test_line_figures_come_from_the_walls_kpis() -> None:
    now = T0 + 600
    def rec(i: int, wait: float, answered: bool, queue: str = "main") -> tuple[CallRecord, list[CallEvent]]:
        arrived = now - 100 + i
        r = CallRecord(call_id=f"c{i}", caller=f"1380000{i:04d}", dnis="12345", arrived_at=arrived, queue=queue,
                       queued_at=arrived, answered_at=arrived + wait if answered else None,
                       ended_at=arrived + wait + 30, outcome="answered" if answered else "abandoned",
                       agent_id="2001" if answered else None)
        return r, []
    old = CallRecord(call_id="old", caller="13900000000", dnis="12345", arrived_at=now - 500, queue="main",
                     queued_at=now - 500, answered_at=now - 460, ended_at=now - 400, outcome="answered",
                     agent_id="2001")
    data = period_from_records(now - 1000, now + 1, [rec(0, 5, True), rec(1, 20, True), rec(2, 3, True),
                                                     rec(4, 40, False), rec(3, 2, True, "province"), (old, [])],
                               now=now)
    policies = load_config(from_env({})).queues
    waiting = [QueuedCall(call_id="w1", owner="", queue="province", arrived_at=now - 25, language="zh",
                          skills=frozenset(), priority=0),
               QueuedCall(call_id="cb", owner="", queue="main", arrived_at=now - 300, language="zh",
                          skills=frozenset(), priority=0, callback=True)]
    lines = {f.line: f for f in line_figures(data, waiting, policies, lambda line: 0.8, KpiRules(), now, 300)}
    # answered within 15 s / answered (the municipal rule, as on the wall); the old call is outside the window
    assert lines["main"].service_level == pytest.approx(2 / 3)
    assert lines["province"].service_level == 1.0
    assert (lines["province"].waiting, lines["province"].longest_wait_seconds) == (1, 25)
    assert (lines["main"].waiting, lines["main"].longest_wait_seconds) == (0, 0.0)  # a callback request is no caller
    assert lines["business"].service_level is None
