"""The per-call facts the KPIs need, derived once, in one place, from what is stored.

Why one value per call: every KPI of ``kpi.definitions`` reads these fields and nothing
else, so "what is a wait", "what is an abandon", "which agent" are answered here once. The
facts come from two inputs through ONE code path (``call_facts``): the rows the database
gives (``CallStore.get``/``events`` dicts, ``call_legs`` and ``work_orders`` rows, the
``agent_states`` log), and the ``CallRecord``/``CallEvent`` objects the session or a
simulator produces (``rows_of_record`` turns them into the same rows first). Times may be
epoch floats or datetimes (SQLite gives naive UTC ones, PostgreSQL aware ones): all become
epoch seconds.

How each fact is derived (record = the ``calls`` row; events = its ``call_events``):

- ``line``, ``dnis``, ``language``, ``agent``, ``source``: the record's ``queue``, ``dnis``,
  ``language``, ``agent_id`` (the agent who answered, or placed a callback) and ``source``
  (controller | fallback | callback). ``skills``: the record's comma-separated skills.
- ``disposition``: from ``source`` and ``outcome`` by ``DISPOSITIONS`` (a table): a callback
  try is ``callback_try``; ``ivr_hangup`` is ``ivr_abandoned`` (never reached the queue);
  ``ivr_end`` is ``ivr_served`` (the IVR's message was the whole service); ``abandoned`` is
  an abandon *in the queue* (waiting, or while an agent's phone rang); ``callback_requested``
  a booked callback (never an abandon); ``in_progress`` and ``fallback`` (handed to app_queue,
  whose own record replaces it) are ``unsettled`` and left out of every KPI.
- ``offered_at``: when the call asked for a person: ``queued_at``; a settled queue call
  without one (an old record) starts at ``arrived_at``, as ``CallRecord.wait_seconds`` does.
  ``None`` for calls that never reached the queue.
- ``wait``: ``answered_at - offered_at`` for an answered call, ``ended_at - offered_at``
  for an abandon or a booked callback; ``None`` otherwise. Never the stored
  ``wait_seconds``: it counts from arrival for a caller who hung up in the greeting.
- ``talk``: ``ended_at - answered_at`` (hold included; the survey after it is not).
  ``agent_talk``: the call taker's share, to ``attrs.agent_left_at`` when they left a
  three-party call before its end (a hand-over), else ``talk``.
- ``hold``: seconds the citizen spent on music while the call taker worked with an agency:
  the time in the three-party states ``HOLD_STATES`` (from the ``three_party`` events, each
  state lasting until the next event or the call's end). Part of ``talk``, never added to it.
- ``offers`` / ``ronas``: the agents rung (``offered`` events) and those who did not answer
  (``rona`` events), in order; ``rona_count`` is ``len(ronas)``.
- ``handling``: ``attrs.handling`` (direct | consulted | three_party | transferred, from the
  three-party legs, ``calls/legs.py``), ``direct`` for an answered call without it.
- ``legs``: the ``call_legs`` rows, or the ``agency_leg`` events when no rows are given (the
  store writes one row per such event); ``agencies``: ``attrs.agencies`` and the legs' ones.
- ``satisfaction``: the survey's answer (``attrs.satisfaction``, else the last ``survey``
  event), else the work order's (a follow-up call's); only the four answers of the survey.
- ``order_*``: the call's work order (category, handling direct | transferred, district,
  agency, three-party flag), when one was filed.
- ``wrap``: the call taker's wrap-up after this call: the ``agent_states`` row ``wrap_up``
  bound to the call (or, for a callback try, to the request it served) until the agent's
  next row; ``None`` when the log does not say.
- ``callback_booked``: the caller booked a callback (outcome ``callback_requested`` or a
  ``callback_booked`` event); ``callback_of`` / ``callback_reached``: a try's request;
  whether some try of a request reached the citizen (over every try loaded, later ones too).
- ``prior_gap``: seconds since the same number's previous inbound call (``None``: none
  within the history loaded, or a withheld number: ``workorders.history.has_history``).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from calls.records import CallEvent, CallRecord
from workorders.history import has_history

HOLD_STATES = frozenset({"consult_dialing", "consulting", "blind_dialing", "agent_recalling"})
SATISFACTIONS = ("satisfied", "basically_satisfied", "unsatisfied", "no_answer")
# (source or "*", outcome or "*") -> disposition; the first match wins.
DISPOSITIONS: tuple[tuple[str, str, str], ...] = (
    ("callback", "*", "callback_try"),
    ("follow_up", "*", "follow_up"),
    ("*", "in_progress", "unsettled"),
    ("*", "fallback", "unsettled"),
    ("*", "answered", "answered"),
    ("*", "abandoned", "abandoned"),
    ("*", "ivr_hangup", "ivr_abandoned"),
    ("*", "ivr_end", "ivr_served"),
    ("*", "callback_requested", "callback_requested"),
    ("*", "*", "other"),
)
# Calls the hotline places (a callback's try, a follow-up call 回访): not citizens' calls.
OUTBOUND_SOURCES = ("callback", "follow_up")
QUEUE_DISPOSITIONS = frozenset({"answered", "abandoned", "callback_requested"})
# The events the facts read (the shell loads only these kinds).
EVENT_KINDS = ("offered", "rona", "three_party", "survey", "callback_booked", "agency_leg")
HISTORY_SECONDS = 30 * 86400.0   # how far back repeat callers are looked for (the longest repeat window)
CALLBACK_HORIZON = 2 * 86400.0   # how long after a period its callback requests may still be completed
STATE_TAIL = 6 * 3600.0          # agents' log read past a period's end: the wrap-ups of its last (long) calls
STATE_LOOKBACK = 7 * 86400.0     # how far back an agent's state at a period's start is looked for
WRAP_MATCH_SLACK = 1.0  # a wrap-up row may be logged this much before the answer time we hold


@dataclass(frozen=True)
class Leg:
    """One agency leg of a three-party call or transfer (a ``call_legs`` row)."""

    agency: str
    mode: str
    attempt: int
    dialled_at: float
    answered_at: float | None
    ended_at: float | None
    end: str | None


@dataclass(frozen=True)
class CallFacts:
    """What the KPIs know about one call; see the module for how each field is derived."""

    call_id: str
    caller: str
    line: str
    dnis: str
    language: str
    skills: tuple[str, ...]
    agent: str
    source: str
    outcome: str
    disposition: str
    arrived_at: float
    queued_at: float | None
    offered_at: float | None
    answered_at: float | None
    ended_at: float | None
    wait: float | None
    talk: float | None
    agent_talk: float | None
    hold: float
    wrap: float | None = None
    offers: tuple[str, ...] = ()
    ronas: tuple[str, ...] = ()
    callback_booked: bool = False
    callback_of: str | None = None
    callback_reached: bool = False
    handling: str | None = None
    legs: tuple[Leg, ...] = ()
    agencies: tuple[str, ...] = ()
    satisfaction: str | None = None
    order_category: str | None = None
    order_handling: str | None = None
    order_district: str | None = None
    order_agency: str | None = None
    order_three_party: bool | None = None
    repeat_calls: int = 0
    prior_gap: float | None = None
    recovered: bool = False

    @property
    def inbound(self) -> bool:
        """A citizen's call to the hotline (not a callback try, not a follow-up call)."""
        return self.source not in OUTBOUND_SOURCES

    @property
    def settled(self) -> bool:
        return self.disposition != "unsettled"

    @property
    def queued(self) -> bool:
        """Asked for a person: reached the queue (answered, abandoned there, or booked a callback)."""
        return self.disposition in QUEUE_DISPOSITIONS

    @property
    def abandoned_in(self) -> str | None:
        """``ivr`` or ``queue`` for an abandon, else None."""
        return {"abandoned": "queue", "ivr_abandoned": "ivr"}.get(self.disposition)

    @property
    def callback_requested(self) -> bool:
        return self.disposition == "callback_requested"

    @property
    def rona_count(self) -> int:
        return len(self.ronas)

    @property
    def agency_joined(self) -> bool:
        """An agency answered a leg of the call (consulted, three-party or transferred)."""
        return self.handling in ("consulted", "three_party", "transferred")


@dataclass(frozen=True)
class StateRow:
    """One row of the ``agent_states`` log."""

    agent: str
    at: float
    state: str
    reason: str = ""
    call_id: str = ""


@dataclass(frozen=True)
class AgentSpan:
    """An agent in one state from ``start`` to ``end`` (clipped to the period observed)."""

    agent: str
    state: str
    start: float
    end: float
    reason: str = ""
    call_id: str = ""

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class CallRows:
    """A call as stored: its ``calls`` row, its events (``kind``, ``at``, ``data``), its
    ``call_legs`` rows (None: take them from the ``agency_leg`` events) and its work order."""

    call: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]] = ()
    legs: Sequence[Mapping[str, Any]] | None = None
    order: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PeriodData:
    """Everything the KPIs of one period read: the calls that arrived in ``[start, end)``,
    the agents' state spans clipped to ``[start, observed_end)`` (``observed_end`` is ``end``
    or, for a period still running, the time it was loaded), and the callback tries made
    after ``end`` for requests of the period (``later_tries``: they only complete them)."""

    start: float
    end: float
    observed_end: float
    calls: tuple[CallFacts, ...]
    spans: tuple[AgentSpan, ...] = ()
    later_tries: tuple[CallFacts, ...] = field(default=(), compare=False)


# -- values -------------------------------------------------------------------------------

def epoch(value: Any) -> float | None:
    """Epoch seconds from a float, a datetime (naive = UTC, as SQLite returns them) or an
    ISO text; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        return epoch(datetime.fromisoformat(value))
    return float(value)


def _moment(value: Any) -> float | None:
    """A time held in the record's attributes (a float as written, or text); None when it
    is missing or unreadable: one odd attribute must not stop a report."""
    try:
        return epoch(value) if isinstance(value, (int, float, str, datetime)) else None
    except (ValueError, OverflowError):
        return None


def _attrs(row: Mapping[str, Any]) -> Mapping[str, Any]:
    attrs = row.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def disposition(source: str, outcome: str) -> str:
    """The first row of ``DISPOSITIONS`` that matches."""
    for want_source, want_outcome, result in DISPOSITIONS:
        if want_source in ("*", source) and want_outcome in ("*", outcome):
            return result
    raise AssertionError("DISPOSITIONS ends with a catch-all")


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else max(0.0, end - start)


def _legs(rows: CallRows) -> tuple[Leg, ...]:
    if rows.legs is not None:
        found = [(int(r.get("leg") or 0), r.get("agency_id") or r.get("agency"), r) for r in rows.legs]
        end_key = "end_reason"
    else:
        found = [(int(e["data"].get("leg") or 0), e["data"].get("agency"), e["data"])
                 for e in rows.events if e.get("kind") == "agency_leg" and isinstance(e.get("data"), Mapping)]
        end_key = "end"
    found.sort(key=lambda item: item[0])
    return tuple(Leg(str(agency or ""), str(r.get("mode") or ""), int(r.get("attempt") or 1),
                     epoch(r.get("dialled_at")) or 0.0, epoch(r.get("answered_at")), epoch(r.get("ended_at")),
                     r.get(end_key)) for _, agency, r in found)


def _hold(events: Sequence[Mapping[str, Any]], end: float | None) -> float:
    """Seconds spent in ``HOLD_STATES`` by the call's ``three_party`` events."""
    steps = sorted(((epoch(e.get("at")) or 0.0, str((e.get("data") or {}).get("state") or ""))
                    for e in events if e.get("kind") == "three_party"), key=lambda step: step[0])
    total = 0.0
    for (at, state), following in zip(steps, [*steps[1:], (end, "")]):
        if state in HOLD_STATES and following[0] is not None:
            total += max(0.0, following[0] - at)
    return total


def _satisfaction(attrs: Mapping[str, Any], events: Sequence[Mapping[str, Any]],
                  order: Mapping[str, Any] | None) -> str | None:
    answers = [attrs.get("satisfaction")]
    answers += [(e.get("data") or {}).get("satisfaction") for e in reversed(events) if e.get("kind") == "survey"]
    answers.append(order.get("satisfaction") if order else None)
    return next((a for a in answers if a in SATISFACTIONS), None)


def call_facts(rows: CallRows) -> CallFacts:
    """The facts of one stored call (``wrap``, ``callback_reached`` and ``prior_gap`` are
    set by ``assemble``, which sees the other calls and the agents' log)."""
    r, events = rows.call, sorted(rows.events, key=lambda e: epoch(e.get("at")) or 0.0)
    attrs = _attrs(r)
    source, outcome = str(r.get("source") or "controller"), str(r.get("outcome") or "in_progress")
    kind = disposition(source, outcome)
    arrived, queued = epoch(r.get("arrived_at")) or 0.0, epoch(r.get("queued_at"))
    answered, ended = epoch(r.get("answered_at")), epoch(r.get("ended_at"))
    offered_at = (queued if queued is not None else arrived) if kind in QUEUE_DISPOSITIONS else None
    wait = _span(offered_at, answered if kind == "answered" else ended)
    talk = _span(answered, ended)
    left = _moment(attrs.get("agent_left_at"))
    agent_talk = _span(answered, min(ended, left) if ended is not None and left is not None else ended)
    legs = _legs(rows)
    order = rows.order
    listed = attrs.get("agencies") if isinstance(attrs.get("agencies"), (list, tuple)) else ()
    handling = attrs.get("handling") if isinstance(attrs.get("handling"), str) else None
    if handling is None and answered is not None:
        handling = "direct"
    callback_of = attrs.get("callback_of")
    return CallFacts(
        call_id=str(r["call_id"]), caller=str(r.get("caller") or ""), line=str(r.get("queue") or ""),
        dnis=str(r.get("dnis") or ""), language=str(r.get("language") or ""),
        skills=tuple(s for s in str(r.get("skills") or "").split(",") if s), agent=str(r.get("agent_id") or ""),
        source=source, outcome=outcome, disposition=kind, arrived_at=arrived, queued_at=queued,
        offered_at=offered_at, answered_at=answered, ended_at=ended, wait=wait, talk=talk, agent_talk=agent_talk,
        hold=_hold(events, ended),
        offers=tuple(str((e.get("data") or {}).get("agent") or "") for e in events if e.get("kind") == "offered"),
        ronas=tuple(str((e.get("data") or {}).get("agent") or "") for e in events if e.get("kind") == "rona"),
        callback_booked=kind == "callback_requested" or any(e.get("kind") == "callback_booked" for e in events),
        callback_of=str(callback_of) if callback_of else None,
        handling=handling, legs=legs,
        agencies=tuple(sorted({str(a) for a in listed} | {leg.agency for leg in legs if leg.agency})),
        satisfaction=_satisfaction(attrs, events, order),
        order_category=order.get("category") if order else None,
        order_handling=order.get("handling") if order else None,
        order_district=order.get("district") if order else None,
        order_agency=order.get("agency_id") if order else None,
        order_three_party=bool(order.get("three_party")) if order else None,
        repeat_calls=int(r.get("repeat_calls") or 0), recovered=bool(attrs.get("recovered_by")))


# -- the simulator's path: objects become the stored rows first ----------------------------

def rows_of_record(record: CallRecord, events: Iterable[CallEvent] = (), order: Any = None) -> CallRows:
    """The rows the store would write for ``record`` and its events (legs from the
    ``agency_leg`` events, as ``CallStore.save`` makes them); ``order``: a ``WorkOrder`` or
    a ``work_orders`` row."""
    call = {**asdict(record), "ivr_path": list(record.ivr_path), "attrs": dict(record.attrs)}
    rows = [{"call_id": e.call_id, "at": e.at, "kind": e.kind, "data": dict(e.data)} for e in events]
    return CallRows(call, rows, None, _order_row(order))


def _order_row(order: Any) -> Mapping[str, Any] | None:
    if order is None or isinstance(order, Mapping):
        return order
    return asdict(order)


def state_rows(rows: Iterable[Any]) -> list[StateRow]:
    """``agent_states`` rows (dicts) or ``StateChange`` objects as ``StateRow``s."""
    out = []
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda k, r=row: getattr(r, k, "")
        out.append(StateRow(str(get("agent_id")), epoch(get("at")) or 0.0, str(get("state")),
                            str(get("reason") or ""), str(get("call_id") or "")))
    return out


# -- the period: link the calls and the agents' log -----------------------------------------

def spans_of(rows: Iterable[StateRow], start: float, end: float) -> tuple[AgentSpan, ...]:
    """Each agent's states as spans clipped to ``[start, end)``: a row lasts until the
    agent's next row (or ``end``). Give the last row before ``start`` too, or the state at
    the start is unknown and the time before the first row is not counted."""
    by_agent: dict[str, list[StateRow]] = defaultdict(list)
    for row in rows:
        by_agent[row.agent].append(row)
    spans = []
    for agent in sorted(by_agent):
        ordered = sorted(by_agent[agent], key=lambda r: r.at)
        for row, following in zip(ordered, [*ordered[1:], None]):
            lo, hi = max(row.at, start), min(following.at if following else end, end)
            if hi > lo:
                spans.append(AgentSpan(agent, row.state, lo, hi, row.reason, row.call_id))
    return tuple(spans)


def _wraps(rows: Sequence[StateRow]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(agent, call id) -> [(wrap start, length)] from the unclipped log."""
    by_agent: dict[str, list[StateRow]] = defaultdict(list)
    for row in rows:
        by_agent[row.agent].append(row)
    found: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for agent, listed in by_agent.items():
        ordered = sorted(listed, key=lambda r: r.at)
        for row, following in zip(ordered, [*ordered[1:], None]):
            if row.state == "wrap_up" and row.call_id and following is not None:
                found[(agent, row.call_id)].append((row.at, max(0.0, following.at - row.at)))
    return found


def _wrap_of(facts: CallFacts, wraps: Mapping[tuple[str, str], list[tuple[float, float]]]) -> float | None:
    if not facts.agent or facts.answered_at is None:
        return None
    since = (facts.answered_at or facts.arrived_at) - WRAP_MATCH_SLACK
    ids = [facts.call_id] + ([facts.callback_of] if facts.callback_of else [])
    found = sorted(w for call_id in ids for w in wraps.get((facts.agent, call_id), ()) if w[0] >= since)
    return found[0][1] if found else None


def _prior_gaps(history: Iterable[tuple[str, float]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for caller, at in history:
        if has_history(caller):
            times[caller].append(at)
    for listed in times.values():
        listed.sort()
    return times


def _prior_gap(facts: CallFacts, times: Mapping[str, list[float]]) -> float | None:
    listed = times.get(facts.caller)
    if not facts.inbound or not listed:
        return None
    index = bisect.bisect_left(listed, facts.arrived_at) - 1
    return facts.arrived_at - listed[index] if index >= 0 else None


def assemble(start: float, end: float, calls: Iterable[CallRows], states: Iterable[StateRow] = (),
             history: Iterable[tuple[str, float]] = (), later: Iterable[CallRows] = (),
             now: float | None = None) -> PeriodData:
    """The period's data: the facts of ``calls`` that arrived in ``[start, end)`` linked to
    the agents' log ``states`` (give the last row before ``start`` of each agent, and rows
    to some time after ``end`` for the wrap-ups of the last calls), to the earlier calls of
    the same numbers (``history``: (caller, arrived_at) of inbound calls, e.g. the 30 days
    before ``start`` and the period itself) and to the callback tries in ``later`` (after
    ``end``). ``now``: a period still running is observed to ``now`` only."""
    observed = end if now is None else max(start, min(end, now))
    state_list = list(states)
    wraps = _wraps(state_list)
    times = _prior_gaps(history)
    facts = [call_facts(rows) for rows in calls]
    tries = [call_facts(rows) for rows in later]
    reached = {f.callback_of for f in [*facts, *tries] if f.callback_of and f.disposition == "callback_try"
               and f.outcome == "answered"}
    linked = []
    for f in facts:
        if not start <= f.arrived_at < end:
            continue
        linked.append(replace(f, wrap=_wrap_of(f, wraps), prior_gap=_prior_gap(f, times),
                              callback_reached=f.callback_requested and f.call_id in reached))
    linked.sort(key=lambda f: (f.arrived_at, f.call_id))
    return PeriodData(start, end, observed, tuple(linked), spans_of(state_list, start, observed),
                      tuple(sorted(tries, key=lambda f: (f.arrived_at, f.call_id))))


def period_from_records(start: float, end: float, calls: Iterable[tuple[CallRecord, Iterable[CallEvent]]],
                        orders: Iterable[Any] = (), states: Iterable[Any] = (), now: float | None = None,
                        history_seconds: float = HISTORY_SECONDS,
                        callback_horizon: float = CALLBACK_HORIZON) -> PeriodData:
    """The period's data from objects (a simulator's run, or a session's records), by the
    same path as the stored rows and with the database's limits (``kpi_source``): the
    records of the ``history_seconds`` before ``start`` serve as the history of repeat
    callers, the callback tries up to ``callback_horizon`` after ``end`` complete the
    requests."""
    by_call = {(o["call_id"] if isinstance(o, Mapping) else o.call_id): o for o in orders}
    rows = [rows_of_record(record, events, by_call.get(record.call_id)) for record, events in calls]
    inside = [r for r in rows if start <= float(r.call["arrived_at"]) < end]
    later = [r for r in rows if end <= float(r.call["arrived_at"]) < end + callback_horizon
             and r.call.get("source") == "callback"]
    history = [(str(r.call["caller"]), float(r.call["arrived_at"])) for r in rows
               if r.call.get("source") not in OUTBOUND_SOURCES and start - history_seconds <= float(r.call["arrived_at"]) < end]
    logged = [r for r in state_rows(states) if start - STATE_LOOKBACK <= r.at < end + STATE_TAIL]
    return assemble(start, end, inside, logged, history, later, now)
