"""The wallboard's snapshot, assembled by pure functions: waiting calls, agent records, KPI
figures and alert rules in; one JSON-able dict out. No I/O, no clock: ``now`` is given.

Two steps, because they change at different speeds:

1. ``figures``: the KPIs of the stored records (``kpi.facts.PeriodData`` of the last 24
   hours at least, from midnight), by line, for today and the last 15 minutes, the rolling
   24-hour connect rate, and the calls per work-order category in the last hour against
   their usual rate. Every figure is a KPI of ``kpi.definitions`` computed by its functions
   (``kpis``, ``kpi_rows``, ``rolling_connect``): the wall and the daily report cannot
   disagree. A line's service level counts "answered within" with the line's own
   ``sl_target`` seconds (queues.yaml; 15 s on every shipped line).
2. ``snapshot``: the live part (who waits, for how long, which agent is in which state since
   when, pending callbacks) from the live state, plus the figures and the alerts they fire.

The snapshot (every time in epoch seconds, every duration in seconds)::

    at, day_start, kpi_as_of (when the figures were computed; null before the first load),
    kpi_stale (the last load failed: the figures are older),
    lines: [{line, title, sl_target_seconds, sl_goal,
             waiting: [{call_id, queued_at, waited, language, skills, priority, offered, agent}],
             waiting_count, offered_count, longest_wait, callbacks,
             today: FIGURES, last_15m: FIGURES}],
    totals: {waiting, offered, longest_wait, callbacks, today: FIGURES, last_15m: FIGURES},
    agents: [{agent_id, state, since, in_state, pause_reason, pause_pending, call_id, line,
              calls_taken, wrap_until}],
    agents_by_state: {logged_out, available, reserved, ringing, on_call, wrap_up, paused},
    callbacks: [{call_id, line, queued_at, waited, attempts, not_before, due, offered, agent}],
    rolling_24h: {start, end, offered, answered, short_abandoned, connect_rate,
                  connect_rate_excl_short, goal},
    categories: [{code, name_zh, name_en, last_hour, usual, ratio}],   (busiest first)
    alerts: [{kind, severity, line, category, value, threshold, details}]

where FIGURES holds the KPIs of ``FIGURE_KEYS`` by key (counts, ratios 0..1, seconds; a
ratio with nothing to divide by is null). ``waiting`` lists the callers not answered yet,
longest first: waiting in line, or ``offered`` (an agent's phone rings for them, ``agent``).
A caller's number is never on the wall.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Any, Callable, Iterable, Mapping, Sequence

from acd.model import QueuePolicy
from agents.state import AgentRecord, AgentState, IllegalTransition, settle
from calls.model import QueuedCall
from hotline.wallboard.alerts import (AlertRules, HotTopicRule, connect_rate_alert, hot_topic_alert, long_wait_alert,
                                      ordered, service_level_alert)
from kpi.definitions import NO_GROUP, KpiRules, Value, Window, kpi_rows, kpis, rolling_connect
from kpi.facts import CallFacts, PeriodData

DAY = 86400.0
HOUR = 3600.0
RECENT_SECONDS = 900.0  # "the last 15 minutes"
TOP_CATEGORIES = 10
FIGURE_KEYS = ("offered", "answered", "abandoned", "short_abandoned", "callbacks_requested", "connect_rate",
               "connect_rate_excl_short", "abandon_rate", "service_level", "asa")
NamesOf = Callable[[str], tuple[str, str]]


# -- step 1: the figures of the stored records ---------------------------------------------

@dataclass(frozen=True)
class CategoryRate:
    """A work-order category's calls in the last hour and its usual rate (mean calls in the
    same hour of the previous days)."""

    code: str
    last_hour: int
    usual: float


@dataclass(frozen=True)
class Figures:
    """The KPI part of the wall. ``today`` and ``recent`` (last 15 minutes) by line;
    ``rolling`` is the window of the last 24 hours; ``as_of`` None: never computed."""

    as_of: float | None = None
    today: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    recent: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    today_total: Mapping[str, Value] = field(default_factory=dict)
    recent_total: Mapping[str, Value] = field(default_factory=dict)
    rolling: Window | None = None
    categories: tuple[CategoryRate, ...] = ()
    stale: bool = False


def day_start(now: float, tz: tzinfo) -> float:
    """Local midnight of the day ``now`` falls in."""
    local = datetime.fromtimestamp(now, tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz).timestamp()


def load_window(now: float, tz: tzinfo, rules: KpiRules) -> tuple[float, float]:
    """The arrivals ``figures`` needs: from the earlier of midnight and the rolling window's
    start, to ``now``."""
    return min(day_start(now, tz), now - rules.rolling_window_seconds), now


def history_windows(now: float, days: int) -> list[tuple[float, float]]:
    """The hour before ``now`` on each of the ``days`` previous days (the usual rate's base)."""
    return [(now - d * DAY - HOUR, now - d * DAY) for d in range(1, days + 1)]


def line_rules(rules: KpiRules, policy: QueuePolicy | None) -> KpiRules:
    """The KPI rules of one line: its service level counts with its own ``sl_target``."""
    if policy is None or policy.sl_target == rules.service_level_seconds:
        return rules
    return dataclasses.replace(rules, service_level_seconds=float(policy.sl_target))


def pick(values: Mapping[str, Value]) -> dict[str, Value]:
    return {key: values.get(key) for key in FIGURE_KEYS}


def _within(data: PeriodData, lo: float, hi: float) -> PeriodData:
    return dataclasses.replace(data, start=lo, end=hi, observed_end=min(hi, data.observed_end),
                               calls=tuple(f for f in data.calls if lo <= f.arrived_at < hi), spans=())


def by_line(facts: Iterable[CallFacts], policies: Mapping[str, QueuePolicy],
             rules: KpiRules) -> dict[str, dict[str, Value]]:
    groups: dict[str, list[CallFacts]] = defaultdict(list)
    for f in facts:
        if f.line:  # a call with no line never reached a queue (hung up in the IVR): in the totals only
            groups[f.line].append(f)
    for line in policies:
        groups.setdefault(line, [])
    return {line: pick(kpis(listed, line_rules(rules, policies.get(line)))) for line, listed in groups.items()}


def category_counts(data: PeriodData, level: str) -> dict[str, int]:
    """Calls per work-order category (at ``level``) in ``data``: the ``arrived`` KPI of each
    category's row (inbound calls settled; callback tries are not calls in)."""
    rows = kpi_rows(data, by="category", category_level=level)
    return {row.group: int(row.values["arrived"] or 0) for row in rows
            if row.group != NO_GROUP and row.values["arrived"]}


def usual_rates(history: Sequence[PeriodData], days: int, level: str) -> dict[str, float]:
    """The mean calls per category over ``days`` periods (a day with no call counts as 0)."""
    totals: dict[str, int] = defaultdict(int)
    for data in history:
        for code, count in category_counts(data, level).items():
            totals[code] += count
    return {code: total / days for code, total in totals.items()} if days else {}


def figures(data: PeriodData, now: float, today_start: float, policies: Mapping[str, QueuePolicy],
            rules: KpiRules = KpiRules(), usual: Mapping[str, float] | None = None,
            level: str = "subclass") -> Figures:
    """The wall's KPI figures at ``now`` from ``data`` (give at least ``load_window``) and
    the usual rates of the categories (``usual_rates``)."""
    today = _within(data, today_start, now + 1e-6)
    recent = _within(data, now - RECENT_SECONDS, now + 1e-6)
    hour = _within(data, now - HOUR, now + 1e-6)
    window = rolling_connect(data.calls, rules, now - rules.rolling_window_seconds, now)
    counts = category_counts(hour, level)
    usual = dict(usual or {})
    rates = tuple(CategoryRate(code, counts.get(code, 0), usual.get(code, 0.0)) for code in sorted(counts))
    return Figures(as_of=now, today=by_line(today.calls, policies, rules),
                   recent=by_line(recent.calls, policies, rules),
                   today_total=pick(kpis(today.calls, rules)), recent_total=pick(kpis(recent.calls, rules)),
                   rolling=window.current, categories=rates)


# -- step 2: the snapshot ----------------------------------------------------------------------

def queued_call(call_id: str, queue: str, queued_at: float, *, language: str = "zh",
                skills: Iterable[str] = (), priority: int = 0, callback: bool = False, attempts: int = 0,
                not_before: float = 0.0, offered_to: str = "") -> QueuedCall:
    """A live-state call as the wall reads it (for in-memory state and tests)."""
    return QueuedCall(call_id=call_id, owner="", queue=queue, arrived_at=queued_at, language=language,
                      skills=frozenset(skills), priority=priority, callback=callback, attempts=attempts,
                      not_before=not_before, state="offered" if offered_to else "waiting", agent=offered_to)


def effective_agent(record: AgentRecord) -> AgentRecord:
    """The record as it stands: a wrap-up whose time is over is no longer a wrap-up (the live
    state keeps it until something reads it), so it is shown available, or paused when a pause
    was pending, since the wrap-up's end. (Whether it is over depends on ``now``: see
    ``agent_at``.)"""
    at = record.wrap_until if record.wrap_until is not None else record.since
    try:
        return settle(record, max(at, record.since))
    except IllegalTransition:
        return record


def agent_at(record: AgentRecord, now: float) -> AgentRecord:
    """``effective_agent`` once the wrap-up is over at ``now``; the record itself before."""
    if record.state is AgentState.WRAP_UP and (record.wrap_until is None or record.wrap_until <= now):
        return effective_agent(record)
    return record


def _agent_dict(record: AgentRecord, now: float) -> dict[str, Any]:
    pending = record.state in (AgentState.ON_CALL, AgentState.WRAP_UP)
    return {"agent_id": record.agent_id, "state": record.state.value, "since": record.since,
            "in_state": max(0.0, now - record.since),
            "pause_reason": record.pause_reason if record.state is AgentState.PAUSED else None,
            "pause_pending": record.pause_reason if pending else None,
            "call_id": record.call_id, "line": record.queue, "calls_taken": record.calls_taken,
            "wrap_until": record.wrap_until if record.state is AgentState.WRAP_UP else None}


def _waiting_dict(call: QueuedCall, now: float) -> dict[str, Any]:
    offered = call.state != "waiting"
    return {"call_id": call.call_id, "queued_at": call.arrived_at, "waited": max(0.0, now - call.arrived_at),
            "language": call.language, "skills": sorted(call.skills), "priority": call.priority,
            "offered": offered, "agent": (call.agent or None) if offered else None}


def _callback_dict(call: QueuedCall, now: float) -> dict[str, Any]:
    offered = call.state != "waiting"
    return {"call_id": call.call_id, "line": call.queue, "queued_at": call.arrived_at,
            "waited": max(0.0, now - call.arrived_at), "attempts": call.attempts,
            "not_before": call.not_before or None, "due": call.not_before <= now, "offered": offered,
            "agent": (call.agent or None) if offered else None}


def _lines(policies: Mapping[str, QueuePolicy], *seen: Iterable[str]) -> list[str]:
    extra = {line for group in seen for line in group if line and line not in policies}
    return [*policies, *sorted(extra)]


def _empty() -> dict[str, Value]:
    return {key: None for key in FIGURE_KEYS}


def snapshot(now: float, calls: Iterable[QueuedCall], agents: Iterable[AgentRecord],
             policies: Mapping[str, QueuePolicy], figures_: Figures, rules: AlertRules, today_start: float,
             category_name: NamesOf | None = None) -> dict[str, Any]:
    """The wall at ``now`` (see the module for its shape)."""
    names = category_name or (lambda code: (code, code))
    listed = sorted(calls, key=lambda c: (c.arrived_at, c.call_id))
    live = [c for c in listed if not c.callback]
    callbacks = [c for c in listed if c.callback]
    lines = _lines(policies, (c.queue for c in listed), figures_.today, figures_.recent)
    line_out = []
    fired = []
    for line in lines:
        policy = policies.get(line)
        waiting = [c for c in live if c.queue == line]
        longest = max((now - c.arrived_at for c in waiting), default=None)
        recent = figures_.recent.get(line) or _empty()
        goal = rules.service_level.goal_of(line)
        line_out.append({
            "line": line, "title": policy.title if policy and policy.title else line,
            "sl_target_seconds": float(policy.sl_target) if policy else None, "sl_goal": goal,
            "waiting": [_waiting_dict(c, now) for c in waiting], "waiting_count": len(waiting),
            "offered_count": sum(1 for c in waiting if c.state != "waiting"),
            "longest_wait": max(0.0, longest) if longest is not None else None,
            "callbacks": sum(1 for c in callbacks if c.queue == line),
            "today": dict(figures_.today.get(line) or _empty()), "last_15m": dict(recent),
        })
        fired.append(service_level_alert(line, _ratio(recent.get("service_level")),
                                         int(recent.get("answered") or 0), rules.service_level))
        fired.append(long_wait_alert(line, longest, len(waiting), rules.long_wait))
    records = sorted((agent_at(r, now) for r in agents), key=lambda r: r.agent_id)
    by_state = {state.value: 0 for state in AgentState}
    for record in records:
        by_state[record.state.value] += 1
    window = figures_.rolling
    rolling = {"start": now - DAY if window is None else window.start, "end": now if window is None else window.end,
               "offered": window.live_offered if window else 0, "answered": window.answered if window else 0,
               "short_abandoned": window.short_abandoned if window else 0,
               "connect_rate": window.connect_rate if window else None,
               "connect_rate_excl_short": window.connect_rate_excl_short if window else None,
               "goal": rules.connect_rate.goal}
    if window is not None:
        fired.append(connect_rate_alert(window.connect_rate, window.live_offered, window.answered,
                                        rules.connect_rate))
    categories = _categories(figures_.categories, names, rules.hot_topic, fired)
    longest_all = max((now - c.arrived_at for c in live), default=None)
    return {
        "at": now, "day_start": today_start, "kpi_as_of": figures_.as_of, "kpi_stale": figures_.stale,
        "lines": line_out,
        "totals": {"waiting": len(live), "offered": sum(1 for c in live if c.state != "waiting"),
                   "longest_wait": max(0.0, longest_all) if longest_all is not None else None,
                   "callbacks": len(callbacks), "today": dict(figures_.today_total or _empty()),
                   "last_15m": dict(figures_.recent_total or _empty())},
        "agents": [_agent_dict(r, now) for r in records],
        "agents_by_state": by_state,
        "callbacks": [_callback_dict(c, now) for c in callbacks],
        "rolling_24h": rolling,
        "categories": categories,
        "alerts": [a.to_dict() for a in ordered(fired)],
    }


def _ratio(value: Value) -> float | None:
    return None if value is None else float(value)


def _categories(rates: Iterable[CategoryRate], names: NamesOf, rule: HotTopicRule,
                fired: list[Any]) -> list[dict[str, Any]]:
    out = []
    for rate in sorted(rates, key=lambda r: (-r.last_hour, r.code)):
        zh, en = names(rate.code)
        fired.append(hot_topic_alert(rate.code, rate.last_hour, rate.usual, rule, (zh, en)))
        if len(out) < TOP_CATEGORIES:
            out.append({"code": rate.code, "name_zh": zh, "name_en": en, "last_hour": rate.last_hour,
                        "usual": rate.usual, "ratio": rate.last_hour / rate.usual if rate.usual else None})
    return out


def fingerprint(calls: Iterable[QueuedCall], agents: Iterable[AgentRecord]) -> tuple[Any, ...]:
    """What a change of the live state changes (for a poll that yields on changes only)."""
    return (tuple(sorted((c.call_id, c.state, c.agent, c.callback, c.queue) for c in calls)),
            tuple(sorted((a.agent_id, a.state.value, a.since, a.pause_reason or "", a.call_id or "",
                          a.wrap_until or 0.0) for a in agents)))


__all__ = ["CategoryRate", "Figures", "FIGURE_KEYS", "agent_at", "category_counts", "day_start", "figures",
           "fingerprint", "history_windows", "line_rules", "load_window", "queued_call", "snapshot", "usual_rates"]
