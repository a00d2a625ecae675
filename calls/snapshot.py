"""Builds the router's input (acd.Snapshot) from live state: a pure translation.

Kept apart from the router loop so the simulator and tests build snapshots the same way
the live controller does.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from acd import Agent, Call, QueuePolicy, Snapshot
from agents.roster import RosterAgent
from agents.state import AgentRecord, is_available
from calls.model import QueuedCall


def build_snapshot(calls: Iterable[QueuedCall], records: Iterable[AgentRecord],
                   roster: Mapping[str, RosterAgent], queues: Mapping[str, QueuePolicy],
                   now: float) -> Snapshot:
    agents = tuple(_agent(r, roster[r.agent_id], now) for r in records if r.agent_id in roster)
    waiting = tuple(to_acd_call(c) for c in calls if c.queue in queues)
    return Snapshot(calls=waiting, agents=agents, queues=queues)


def _agent(record: AgentRecord, seat: RosterAgent, now: float) -> Agent:
    available = is_available(record, now)
    idle_since = max(record.since, record.wrap_until or 0.0) if available else now
    return Agent(agent_id=record.agent_id, languages=seat.languages, skills=seat.skills,
                 available=available, idle_since=idle_since, queues=seat.queues,
                 calls_taken=record.calls_taken, busy_seconds=record.busy_seconds)


def to_acd_call(call: QueuedCall) -> Call:
    return Call(call_id=call.call_id, queue=call.queue, arrived_at=call.arrived_at,
                language=call.language, skills=call.skills, priority=call.priority,
                excluded_agents=call.excluded, callback=call.callback, not_before=call.not_before)
