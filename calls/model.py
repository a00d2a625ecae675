"""The waiting call as the router and the announcements see it: a value, no I/O.

``QueuedCall`` is one call in the shared queue (or a callback request keeping its place):
the router's input (calls/snapshot.py), the waiting figures (calls/waiting.py) and the
simulator all build it without Redis; hotline/live/redis_state.py stores it as a hash
(``to_hash``/``from_hash``: strings only, so a Redis hash holds it as it is).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueuedCall:
    """A call in the shared queue, as stored in Redis."""

    call_id: str
    owner: str
    queue: str
    arrived_at: float
    language: str = "zh"
    skills: frozenset[str] = frozenset()
    priority: int = 0
    excluded: frozenset[str] = frozenset()
    state: str = "waiting"
    agent: str = ""
    caller: str = ""
    callback: bool = False
    attempts: int = 0           # callback tries the citizen did not answer
    not_before: float = 0.0     # a callback retry waits until then
    extra: dict[str, str] = field(default_factory=dict)

    def to_hash(self) -> dict[str, str]:
        return {
            "call_id": self.call_id, "owner": self.owner, "queue": self.queue,
            "arrived_at": repr(self.arrived_at), "language": self.language,
            "skills": ",".join(sorted(self.skills)), "priority": str(self.priority),
            "excluded": ",".join(sorted(self.excluded)), "state": self.state, "agent": self.agent,
            "caller": self.caller, "callback": "1" if self.callback else "",
            "attempts": str(self.attempts), "not_before": repr(self.not_before),
            "extra": json.dumps(self.extra),
        }

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> "QueuedCall":
        split = lambda v: frozenset(x for x in (v or "").split(",") if x)  # noqa: E731
        return cls(
            call_id=h["call_id"], owner=h.get("owner", ""), queue=h.get("queue", "main"),
            arrived_at=float(h.get("arrived_at", "0")), language=h.get("language", "zh"),
            skills=split(h.get("skills")), priority=int(h.get("priority", "0")),
            excluded=split(h.get("excluded")), state=h.get("state", "waiting"),
            agent=h.get("agent", ""), caller=h.get("caller", ""), callback=h.get("callback") == "1",
            attempts=int(h.get("attempts") or "0"), not_before=float(h.get("not_before") or "0"),
            extra=json.loads(h.get("extra") or "{}"),
        )
