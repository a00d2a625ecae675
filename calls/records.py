"""The call record: what the hotline keeps about every call, for KPIs, reports and reviews.

A plain frozen value so the session, the fallback reconciler and the store agree on one
shape; it knows nothing about SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    caller: str
    dnis: str
    arrived_at: float                 # epoch seconds
    source: str = "controller"        # controller | fallback
    queue: str = ""
    language: str = ""
    skills: str = ""                  # comma-separated soft skills asked for
    priority: int = 0
    repeat_calls: int = 0
    queued_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    agent_id: str = ""
    outcome: str = "in_progress"      # answered | abandoned | ivr_hangup | ivr_end | transferred | failed
    ivr_path: tuple[dict[str, Any], ...] = ()
    recording: str = ""
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def wait_seconds(self) -> float | None:
        """Queue wait: from entering the queue to answer or to abandonment. A call answered
        without a queue step (a callback) waited from its arrival; one that ended before
        reaching the queue (hung up in the greeting or the menu) did not wait: None."""
        if self.queued_at is None and self.answered_at is None:
            return None
        start = self.queued_at if self.queued_at is not None else self.arrived_at
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return None if end is None else max(0.0, end - start)

    @property
    def talk_ended_at(self) -> float | None:
        """When the conversation with the agent ended: ``attrs.talk_ended_at`` when the call
        went on after it (the survey), else the call's end."""
        value = self.attrs.get("talk_ended_at")
        return float(value) if value not in (None, "") else self.ended_at

    @property
    def talk_seconds(self) -> float | None:
        end = self.talk_ended_at
        if self.answered_at is None or end is None:
            return None
        return max(0.0, end - self.answered_at)

    def but(self, **changes: Any) -> "CallRecord":
        return replace(self, **changes)


@dataclass(frozen=True)
class CallEvent:
    """One step of a call (queued, offered, rona, relaxed, answered, ...), appended durably."""

    call_id: str
    at: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
