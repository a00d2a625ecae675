"""When the routing picture next changes by itself, with no event to say so (pure)."""
from __future__ import annotations

from typing import Mapping

from acd import QueuePolicy
from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall


def next_due(calls: list[QueuedCall], records: list[AgentRecord], queues: Mapping[str, QueuePolicy],
             now: float) -> float | None:
    """When the routing picture next changes by itself: an agent's wrap-up ends, a waiting
    call reaches its next relaxation step or a callback retry falls due. The loop wakes
    exactly then instead of on the next tick, so no call waits for a poll."""
    due = [r.wrap_until for r in records
           if r.state is AgentState.WRAP_UP and r.wrap_until is not None and r.wrap_until > now]
    due.extend(c.not_before for c in calls if c.not_before > now)  # callback retries
    for call in calls:
        policy = queues.get(call.queue)
        if policy is not None:
            due.extend(call.arrived_at + step.after for step in policy.relaxation
                       if call.arrived_at + step.after > now)
    return min(due) if due else None
