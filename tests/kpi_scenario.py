"""A designed day of calls for the KPI tests, as the session (or a simulator) would produce
them: ``CallRecord``s with their ``CallEvent``s, work orders and the agents' state log.

Each call is one case the KPIs must get right; the expected values in
tests/unit/test_kpi_definitions.py are worked out by hand from the times below (T is
2026-11-30 09:00 in Shanghai; the period is that local day).

    c1  answered at once (wait 2 s, talk 60 s), satisfied, work order 04 direct
    c2  answered after 16 s of waiting (talk 120 s), English, line "business", basically satisfied
    c3  abandoned after 3 s (a short abandon)
    c4  abandoned after 20 s, same number as c3 (a repeat call within 24 h)
    c5  hung up in the IVR after 4 s, number withheld
    c6  rang agent 1003 (RONA), then answered by 1001 after 15 s; unsatisfied; order transferred to water
    c7  three-party call: consult (citizen on hold 30 s), then conference with the housing bureau
    c8  handed over to the traffic police (blind transfer, hold 10 s; the call taker left at +50 s)
    c9  booked a callback after 65 s; the callback (cb9) reached the citizen; the number called 10 days before
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agents.state import AgentRecord, AgentState
from calls.records import CallEvent, CallRecord
from hotline.store.agent_states import StateChange
from workorders.model import WorkOrder

TZ = ZoneInfo("Asia/Shanghai")
DAY_START = datetime(2026, 11, 30, tzinfo=TZ).timestamp()
DAY_END = datetime(2026, 12, 1, tzinfo=TZ).timestamp()
T = datetime(2026, 11, 30, 9, 0, tzinfo=TZ).timestamp()


def _rec(call_id: str, caller: str, arrived: float, **kw: Any) -> CallRecord:
    base: dict[str, Any] = dict(call_id=call_id, caller=caller, dnis="12345", arrived_at=arrived, queue="main",
                                language="zh", attrs={"controller": "c1"})
    base.update(kw)
    return CallRecord(**base)


def _ev(call_id: str, when: float, kind: str, **data: Any) -> CallEvent:
    return CallEvent(call_id, when, kind, data)


def _answered(call_id: str, caller: str, arrived: float, queued: float, agent: str, answered: float,
              ended: float, **kw: Any) -> tuple[CallRecord, list[CallEvent]]:
    record = _rec(call_id, caller, arrived, queued_at=queued, answered_at=answered, ended_at=ended,
                  agent_id=agent, outcome="answered", **kw)
    events = [_ev(call_id, arrived, "arrived"), _ev(call_id, queued, "queued", queue=record.queue),
              _ev(call_id, queued, "offered", agent=agent, relax_step=0, waited=0.0),
              _ev(call_id, answered, "answered", agent=agent, at=answered), _ev(call_id, ended, "ended")]
    return record, events


def calls() -> list[tuple[CallRecord, list[CallEvent]]]:
    """Every call of the day (and the earlier call of c9's number), in arrival order."""
    out = []
    out.append((_rec("c0", "13900000009", T - 10 * 86400, queued_at=T - 10 * 86400 + 5,
                     answered_at=T - 10 * 86400 + 7, ended_at=T - 10 * 86400 + 60, agent_id="1001",
                     outcome="answered"), []))
    c1, e1 = _answered("c1", "13900000001", T, T + 10, "1001", T + 12, T + 72, skills="housing",
                       attrs={"satisfaction": "satisfied"})
    out.append((c1, e1 + [_ev("c1", T + 72, "survey", satisfaction="satisfied")]))
    out.append(_answered("c2", "13900000002", T + 100, T + 108, "1002", T + 124, T + 244, queue="business",
                         language="en", skills="social_insurance", attrs={"satisfaction": "basically_satisfied"}))
    out.append((_rec("c3", "13900000003", T + 200, queued_at=T + 206, ended_at=T + 209, outcome="abandoned"),
                [_ev("c3", T + 206, "queued")]))
    out.append((_rec("c4", "13900000003", T + 300, queued_at=T + 305, ended_at=T + 325, outcome="abandoned"),
                [_ev("c4", T + 305, "queued")]))
    out.append((_rec("c5", "anonymous", T + 400, ended_at=T + 404, outcome="ivr_hangup"), []))
    c6, e6 = _answered("c6", "13900000006", T + 500, T + 506, "1001", T + 521, T + 581,
                       attrs={"satisfaction": "unsatisfied"})
    e6 = [e6[0], e6[1], _ev("c6", T + 506, "offered", agent="1003", relax_step=0, waited=0.0),
          _ev("c6", T + 518, "rona", agent="1003", status="NOANSWER"),
          _ev("c6", T + 518, "offered", agent="1001", relax_step=1, waited=12.0), *e6[3:]]
    out.append((c6, e6))
    out.append(_three_party())
    out.append(_transfer())
    out.append((_rec("c9", "13900000009", T + 1100, queued_at=T + 1105, ended_at=T + 1170,
                     outcome="callback_requested"),
                [_ev("c9", T + 1105, "queued"), _ev("c9", T + 1170, "callback_booked", number="13900000009")]))
    out.append((_rec("cb9", "13900000009", T + 1500, dnis="callback", source="callback", queued_at=T + 1105,
                     answered_at=T + 1510, ended_at=T + 1570, agent_id="1001", outcome="answered",
                     attrs={"callback_of": "c9", "attempt": 1}),
                [_ev("cb9", T + 1500, "callback_dialled", number="13900000009", agent="1001", attempt=1)]))
    return out


def _leg(call_id: str, agency: str, mode: str, dialled: float, answered: float, ended: float,
         end: str) -> CallEvent:
    return _ev(call_id, dialled, "agency_leg", leg=0, agency=agency, number="12319", mode=mode, attempt=1,
               dialled_at=dialled, answered_at=answered, ended_at=ended, end=end)


def _three_party() -> tuple[CallRecord, list[CallEvent]]:
    record, events = _answered("c7", "13900000007", T + 700, T + 705, "1002", T + 707, T + 817,
                               attrs={"handling": "three_party", "agencies": ["housing"], "agent_left_at": T + 817,
                                      "satisfaction": "no_answer"})
    steps = [(T + 707, "three_party_started", None), (T + 727, "Consult", "consult_dialing"),
             (T + 737, "AgencyAnswered", "consulting"), (T + 757, "Join", "conference"),
             (T + 817, "CitizenHungUp", "ended")]
    extra = [_ev("c7", at, "three_party", event=name, state=state) if state else _ev("c7", at, name)
             for at, name, state in steps]
    return record, events + extra + [_leg("c7", "housing", "consult", T + 727, T + 737, T + 817,
                                          "hung_up_by_citizen")]


def _transfer() -> tuple[CallRecord, list[CallEvent]]:
    record, events = _answered("c8", "13900000008", T + 900, T + 905, "1003", T + 910, T + 1060,
                               attrs={"handling": "transferred", "agencies": ["traffic_police"],
                                      "agent_left_at": T + 960})
    steps = [(T + 950, "BlindTransfer", "blind_dialing"), (T + 960, "AgencyAnswered", "handed_over"),
             (T + 1060, "CitizenHungUp", "ended")]
    return record, events + [_ev("c8", at, "three_party", event=name, state=state) for at, name, state in steps] + [
        _leg("c8", "traffic_police", "blind", T + 950, T + 960, T + 1060, "hung_up_by_citizen")]


def _order(call_id: str, agent: str, category: str, handling: str, agency: str | None = None,
           three_party: bool = False, satisfaction: str | None = None) -> WorkOrder:
    at = datetime.fromtimestamp(T + 1200, TZ)
    return WorkOrder(call_id=call_id, caller="13900000000", agent_id=agent, category=category, request="诉求",
                     district="lixia", urgency="normal", handling=handling, agency_id=agency,
                     due_at=at + timedelta(days=2) if handling == "transferred" else None, three_party=three_party,
                     satisfaction=satisfaction, notes="", created_at=at, updated_at=at)


def orders() -> list[WorkOrder]:
    return [_order("c1", "1001", "04.01.01", "direct", satisfaction="satisfied"),
            _order("c2", "1002", "05.01.01", "direct", satisfaction="basically_satisfied"),
            _order("c6", "1001", "04.02.01", "transferred", "water", satisfaction="unsatisfied"),
            _order("c7", "1002", "04.01.02", "direct", "housing", three_party=True),
            _order("c8", "1003", "01.01.02", "transferred", "traffic_police", three_party=True)]


def _change(agent: str, at: float, state: str, reason: str = "", call_id: str = "") -> StateChange:
    record = AgentRecord(agent, AgentState(state), pause_reason=reason or None, call_id=call_id or None)
    return StateChange.of(record, at)


def states() -> list[StateChange]:
    """Agents 1001-1003 logged in from T to T+3600; 1003 paused 600 s for lunch."""
    out = [_change(a, T, "available") for a in ("1001", "1002", "1003")]
    for agent, call_id, answered, ended, wrap in (
            ("1001", "c1", 12, 72, 20), ("1002", "c2", 124, 244, 30), ("1001", "c6", 521, 581, 20),
            ("1002", "c7", 707, 817, 20), ("1003", "c8", 910, 960, 20), ("1001", "c9", 1510, 1570, 20)):
        out += [_change(agent, T + answered, "on_call", call_id=call_id),
                _change(agent, T + ended, "wrap_up", call_id=call_id),
                _change(agent, T + ended + wrap, "available")]
    out += [_change("1003", T + 2000, "paused", "lunch"), _change("1003", T + 2600, "available")]
    out += [_change(a, T + 3600, "logged_out") for a in ("1001", "1002", "1003")]
    return sorted(out, key=lambda c: c.at)
