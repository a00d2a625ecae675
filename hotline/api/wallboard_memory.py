"""``InMemoryWallboard``: the ``Wallboard`` port over state held in memory, set by hand.

Why: an API built without a controller (``ApiDeps``' default, a demo) still answers the
wallboard routes, and the tests put callers in line, change agents' states and store call
records, then watch the wall follow. The snapshot is assembled by the very code the
controller's wall uses (``hotline.wallboard.live.LiveWallboard`` over these in-memory
readers, the KPI part recomputed on every snapshot), so what a test sees is what a
supervisor sees.

State: ``calls`` (the live state's waiting and offered calls, ``QueuedCall`` values: build
them with ``wait``), ``agents`` (``AgentRecord`` values), the call records behind the KPIs
in ``reports`` (an ``InMemoryReports``: ``add_record``), the queue policies (default: the
shipped ``queues/queues.yaml``, read at first use) and the alert rules (default: the
shipped ``alerts.yaml``, read at first use). Each setter wakes the open streams.

``finite``: a subscription to ``changes`` ends once it has nothing more to deliver (the
default of an API built without a controller: nothing changes its state, so a stream sends
its snapshot and closes; the browser reconnects or polls). Setters must run in the event
loop that serves the streams (a test's ``LiveServer.do``).
"""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Iterable, Mapping

from acd.model import QueuePolicy
from agents.state import AgentRecord
from hotline.api.reports_memory import InMemoryReports
from hotline.wallboard.alerts import AlertRules, load_alert_rules
from hotline.wallboard.board import queued_call
from hotline.wallboard.live import LiveWallboard
from queues.config import default_queues_path, load_queues


class InMemoryWallboard:
    """The wall over ``calls``, ``agents`` and ``reports``; see the module."""

    def __init__(self, reports: InMemoryReports | None = None,
                 policies: Mapping[str, QueuePolicy] | None = None,
                 alert_rules: AlertRules | None = None, finite: bool = False) -> None:
        self.reports = reports or InMemoryReports.shipped()
        self.calls: dict[str, Any] = {}
        self.agents: dict[str, AgentRecord] = {}
        self._policies = dict(policies) if policies is not None else None
        self._rules = alert_rules
        self.finite = finite
        self._subscribers: list[asyncio.Event] = []
        self.board = LiveWallboard(self._read, self.reports.period, self.policies, tz=self.reports.tz(),
                                   rules=self.reports.rules(), alert_rules=self.alert_rules,
                                   category_name=self.reports.category_name, kpi_ttl=0, baseline_ttl=0,
                                   poll_seconds=None)

    @classmethod
    def idle(cls) -> "InMemoryWallboard":
        """The default of an API built without a controller: empty, shipped queues and rules
        (read at first use), streams that end after their snapshot (``finite``)."""
        return cls(finite=True)

    # -- what it is built from -------------------------------------------------------------

    def policies(self) -> Mapping[str, QueuePolicy]:
        if self._policies is None:
            self._policies = load_queues(default_queues_path())
        return self._policies

    def alert_rules(self) -> AlertRules:
        if self._rules is None:
            self._rules = load_alert_rules()
        return self._rules

    async def _read(self) -> tuple[list[Any], list[AgentRecord]]:
        return list(self.calls.values()), [self.agents[k] for k in sorted(self.agents)]

    # -- the port --------------------------------------------------------------------------

    async def snapshot(self, now: float) -> dict[str, Any]:
        return await self.board.snapshot(now)

    async def changes(self) -> AsyncIterator[None]:
        event = asyncio.Event()
        self._subscribers.append(event)
        try:
            while True:
                if self.finite and not event.is_set():
                    return
                await event.wait()
                event.clear()
                yield None
        finally:
            self._subscribers.remove(event)

    def subscribers(self) -> int:
        """Open subscriptions (open streams)."""
        return len(self._subscribers)

    # -- setters (each wakes the streams) --------------------------------------------------

    def changed(self) -> None:
        """Wake every open stream (after changing ``reports`` or a value in place)."""
        for event in self._subscribers:
            event.set()

    def wait(self, call_id: str, queue: str, queued_at: float, *, language: str = "zh",
             skills: Iterable[str] = (), priority: int = 0, callback: bool = False, attempts: int = 0,
             not_before: float = 0.0) -> Any:
        """A caller enters the line ``queue`` at ``queued_at`` (``callback``: a callback
        request keeping its place); returns the call (a ``QueuedCall``)."""
        call = queued_call(call_id, queue, queued_at, language=language, skills=skills, priority=priority,
                           callback=callback, attempts=attempts, not_before=not_before)
        return self.put_call(call)

    def offer(self, call_id: str, agent_id: str) -> Any:
        """An agent's phone rings for the call (it is still not answered)."""
        call = self.calls[call_id]
        return self.put_call(queued_call(call.call_id, call.queue, call.arrived_at, language=call.language,
                                         skills=call.skills, priority=call.priority, callback=call.callback,
                                         attempts=call.attempts, not_before=call.not_before, offered_to=agent_id))

    def put_call(self, call: Any) -> Any:
        self.calls[call.call_id] = call
        self.changed()
        return call

    def remove_call(self, call_id: str) -> None:
        """The call left the line (answered, or its caller hung up)."""
        self.calls.pop(call_id, None)
        self.changed()

    def put_agent(self, record: AgentRecord) -> AgentRecord:
        self.agents[record.agent_id] = record
        self.changed()
        return record

    def set_agents(self, records: Iterable[AgentRecord]) -> None:
        self.agents = {r.agent_id: r for r in records}
        self.changed()

    def add_record(self, record: Any, events: Iterable[Any] = (), order: Any = None) -> None:
        """A stored call (``CallRecord``, its ``CallEvent``s, its ``WorkOrder`` if filed)."""
        self.reports.add_call(record, events, order)
        self.changed()

    def set_policies(self, policies: Mapping[str, QueuePolicy]) -> None:
        self._policies = dict(policies)
        self.changed()

    def set_alert_rules(self, rules: AlertRules) -> None:
        self._rules = rules
        self.changed()


Factory = Callable[[], InMemoryWallboard]
