"""Loads what the KPIs of one period read, from the database (SQLite or PostgreSQL), for the
pure core in ``kpi/`` (``kpi.facts.assemble`` does everything past the rows).

Why here and this way: the reports must give the same figure whatever the database, and
must not cost one query per call (a day is 20,000 calls). So a fixed number of queries,
each over a range of ``calls.arrived_at`` (indexed) or ``agent_states.at`` (indexed), the
calls' events, legs and work orders by a join on the same range (``call_events`` by its
``(call_id, at)`` index, ``call_legs`` and ``work_orders`` by their primary keys), and the
rows turned into epoch seconds and plain dicts before the core sees them: SQLite gives
naive UTC datetimes, PostgreSQL aware ones, and both become the same floats.

The queries (``load``):

1. the calls that arrived in ``[start, end)``; and the callback tries made up to
   ``callback_horizon`` after ``end`` (their rows only: they complete the period's requests);
2. the events the facts read (``kpi.facts.EVENT_KINDS``) of the period's calls;
3. their ``call_legs`` rows; 4. their work orders;
5. the agents' state log from ``start`` to ``state_tail`` after ``end`` (the wrap-ups of
   the last calls), and each agent's last row in the ``state_lookback`` before ``start``
   (their state when the period began);
6. (caller, arrived_at) of the inbound calls of the same numbers in the
   ``history_seconds`` before ``start`` and in the period (repeat callers).

A record saved twice (``CallStore.save`` replaces the row but appends the events again)
would give its events twice: identical events of a call are kept once.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable, Mapping

from sqlalchemy import Engine, and_, func, select

from calls.records import utc
from kpi.facts import (CALLBACK_HORIZON, EVENT_KINDS, HISTORY_SECONDS, OUTBOUND_SOURCES, STATE_LOOKBACK,
                       STATE_TAIL, CallRows, PeriodData, StateRow, assemble, epoch)
from sql.schema import agent_states, call_events, call_legs, calls, work_orders

CALL_COLUMNS = ("call_id", "caller", "dnis", "source", "queue", "language", "skills", "priority", "repeat_calls",
                "arrived_at", "queued_at", "answered_at", "ended_at", "agent_id", "outcome", "attrs")
ORDER_COLUMNS = ("call_id", "category", "district", "handling", "agency_id", "three_party", "satisfaction")


class KpiSource:
    """Reads the period's rows from ``engine`` (migrated to 0004 or later)."""

    def __init__(self, engine: Engine, history_seconds: float = HISTORY_SECONDS,
                 callback_horizon: float = CALLBACK_HORIZON,
                 state_tail: float = STATE_TAIL, state_lookback: float = STATE_LOOKBACK) -> None:
        self.engine = engine
        self.history_seconds = history_seconds
        self.callback_horizon = callback_horizon
        self.state_tail = state_tail
        self.state_lookback = state_lookback

    def load(self, start: float, end: float, now: float | None = None) -> PeriodData:
        """The facts of the calls that arrived in ``[start, end)`` (epoch seconds), with the
        agents' time; ``now`` for a period still running (observed to ``now``)."""
        lo, hi = utc(start), utc(end)
        in_period = and_(calls.c.arrived_at >= lo, calls.c.arrived_at < hi)
        tries_after = and_(calls.c.arrived_at >= hi, calls.c.arrived_at < utc(end + self.callback_horizon),
                           calls.c.source == "callback")
        columns = [calls.c[name] for name in CALL_COLUMNS]
        with self.engine.connect() as conn:
            call_rows = [dict(r) for r in conn.execute(select(*columns).where(in_period)).mappings()]
            later_rows = [dict(r) for r in conn.execute(select(*columns).where(tries_after)).mappings()]
            events = conn.execute(
                select(call_events.c.call_id, call_events.c.at, call_events.c.kind, call_events.c.data)
                .select_from(call_events.join(calls, calls.c.call_id == call_events.c.call_id))
                .where(in_period, call_events.c.kind.in_(EVENT_KINDS))
                .order_by(call_events.c.call_id, call_events.c.id)).mappings().all()
            legs = conn.execute(
                select(call_legs).select_from(call_legs.join(calls, calls.c.call_id == call_legs.c.call_id))
                .where(in_period).order_by(call_legs.c.call_id, call_legs.c.leg)).mappings().all()
            orders = conn.execute(
                select(*(work_orders.c[name] for name in ORDER_COLUMNS))
                .select_from(work_orders.join(calls, calls.c.call_id == work_orders.c.call_id))
                .where(in_period)).mappings().all()
            states = self._states(conn, start, end)
            history = self._history(conn, start, end, in_period)
        inside = _call_rows(call_rows, events, legs, orders)
        later = [CallRows(row) for row in later_rows]  # only their outcome and request matter
        return assemble(start, end, inside, states, history, later, now)

    def _states(self, conn: Any, start: float, end: float) -> list[StateRow]:
        lo = utc(start)
        latest = (select(func.max(agent_states.c.id).label("id"))
                  .where(agent_states.c.at < lo, agent_states.c.at >= utc(start - self.state_lookback))
                  .group_by(agent_states.c.agent_id).subquery())
        before = select(agent_states).where(agent_states.c.id.in_(select(latest.c.id)))
        during = select(agent_states).where(agent_states.c.at >= lo,
                                            agent_states.c.at < utc(end + self.state_tail))
        rows = [*conn.execute(before).mappings(), *conn.execute(during.order_by(agent_states.c.id)).mappings()]
        return [StateRow(r["agent_id"], epoch(r["at"]) or 0.0, r["state"], r["reason"] or "", r["call_id"] or "")
                for r in rows]

    def _history(self, conn: Any, start: float, end: float, in_period: Any) -> list[tuple[str, float]]:
        callers = select(calls.c.caller).where(in_period, calls.c.source.not_in(OUTBOUND_SOURCES)).distinct()
        q = select(calls.c.caller, calls.c.arrived_at).where(
            calls.c.caller.in_(callers), calls.c.source.not_in(OUTBOUND_SOURCES),
            calls.c.arrived_at >= utc(start - self.history_seconds), calls.c.arrived_at < utc(end))
        return [(r["caller"], epoch(r["arrived_at"]) or 0.0) for r in conn.execute(q).mappings()]


def _call_rows(call_rows: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]],
               legs: Iterable[Mapping[str, Any]], orders: Iterable[Mapping[str, Any]]) -> list[CallRows]:
    by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, float, str, str]] = set()
    for e in events:
        data = e["data"] if isinstance(e["data"], dict) else {}
        key = (e["call_id"], epoch(e["at"]) or 0.0, e["kind"], json.dumps(data, sort_keys=True, default=str))
        if key not in seen:  # a record saved twice appended its events twice
            seen.add(key)
            by_call[e["call_id"]].append({"at": e["at"], "kind": e["kind"], "data": data})
    legs_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for leg in legs:
        legs_of[leg["call_id"]].append(dict(leg))
    order_of = {o["call_id"]: dict(o) for o in orders}
    return [CallRows(row, by_call.get(row["call_id"], []), legs_of.get(row["call_id"], []),
                     order_of.get(row["call_id"])) for row in call_rows]
