"""The waiting calls in the router's own queue order, so a step can be given the head of the line.

Why: when many callers wait and one agent frees up (an overloaded hour), ``acd.route`` sorts
every waiting call and walks the line until the free agents are taken, on every step. This
keeps the line sorted by ``acd.queue_key`` (the router's order) as calls come and go, so the
engine can first route the *head* of the line only.

Why that is exact. ``acd.route`` serves calls strictly in queue order, and what it does with
the first ``m`` calls depends on nothing after them; it stops as soon as no free agent is
left. So if routing the first ``m`` calls alone takes *every* available agent, routing the
whole line would have taken the same pairs and stopped at the same place. When it does not,
the engine routes the whole line. Callback requests break the argument (their pacing looks
at every call, and deferred callbacks are served after the line), so while one waits the
whole line is always given. Only for routers that serve calls in ``acd``'s queue order
(``acd.route`` and the baselines built on it): ``Simulation(head_first=False)`` otherwise.
"""
from __future__ import annotations

import bisect
from collections.abc import Mapping

from acd import DEFAULT_TUNING, Call, QueuePolicy, Tuning, queue_key

QueueKey = tuple[float, float, str]


class WaitingLine:
    """Waiting calls by id, and their ids in queue order."""

    __slots__ = ("_calls", "_order", "_keys", "callbacks", "queues", "tuning")

    def __init__(self, queues: Mapping[str, QueuePolicy], tuning: Tuning = DEFAULT_TUNING) -> None:
        self.queues = queues
        self.tuning = tuning
        self._calls: dict[str, Call] = {}
        self._order: list[QueueKey] = []
        self._keys: dict[str, QueueKey] = {}
        self.callbacks = 0  # callback requests in line

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._calls)

    def put(self, call: Call) -> None:
        """Add ``call`` or replace its value (its place, from arrival and priority, stays)."""
        self.remove(call.call_id)
        key = queue_key(call, self.queues[call.queue], self.tuning)
        bisect.insort(self._order, key)
        self._keys[call.call_id] = key
        self._calls[call.call_id] = call
        self.callbacks += call.callback

    def remove(self, call_id: str) -> None:
        key = self._keys.pop(call_id, None)
        if key is None:
            return
        del self._order[bisect.bisect_left(self._order, key)]
        self.callbacks -= self._calls.pop(call_id).callback

    def all(self) -> tuple[Call, ...]:
        return tuple(self._calls.values())

    def head(self, m: int) -> tuple[Call, ...]:
        """The first ``m`` calls in queue order."""
        calls = self._calls
        return tuple(calls[key[2]] for key in self._order[:m])
