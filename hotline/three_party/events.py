"""The agents' live event streams (the API's ``EventFeed``), in this process.

Whatever the controller wants a desk to see (a three-party step, why an agency was not
reached) is published for the agent; each subscriber (one open event stream) gets its own
queue. The agent's own state is watched as well: a change of it, read from the live state
once a second, is published as ``agent_state``, so the stream shows what every controller
did to the agent, not only this one. Events published here are also shared (``share``:
Redis pub/sub, hotline/live/listener.py) so a desk whose stream another controller serves
gets them too; events shared by another controller come in through ``deliver``.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, AsyncIterator, Awaitable, Callable

from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
POLL = 1.0


class AgentEvents:
    def __init__(self, read_state: Callable[[str], Awaitable[Any]],
                 share: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None,
                 tasks: TaskOwner | None = None) -> None:
        self._read_state = read_state
        self._share = share
        self._tasks = tasks
        self._queues: dict[str, set["asyncio.Queue[dict[str, Any]]"]] = defaultdict(set)

    def publish(self, agent_id: str, event: dict[str, Any]) -> None:
        """An event this controller produced: to its own streams, and shared with the others."""
        self.deliver(agent_id, event)
        if self._share is not None and self._tasks is not None:
            self._tasks.spawn(self._shared(agent_id, event), f"desk-event-{agent_id}")

    def deliver(self, agent_id: str, event: dict[str, Any]) -> None:
        """An event to this controller's streams of the agent (a full stream drops it)."""
        for queue in self._queues.get(agent_id, ()):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event stream of agent %s is full: %s dropped", agent_id, event.get("kind"))

    async def _shared(self, agent_id: str, event: dict[str, Any]) -> None:
        assert self._share is not None
        try:
            await self._share(agent_id, event)
        except Exception as exc:  # Redis away: only the streams this controller serves got it
            log.warning("desk event for agent %s not shared with the other controllers: %s", agent_id, exc)

    async def subscribe(self, agent_id: str) -> AsyncIterator[dict[str, Any]]:
        queue: "asyncio.Queue[dict[str, Any]]" = asyncio.Queue(maxsize=1000)
        self._queues[agent_id].add(queue)
        last: tuple[str, str] | None = None
        try:
            while True:
                try:
                    record = await self._read_state(agent_id)
                    now = (record.state.value, record.call_id or "") if record else ("unknown", "")
                except Exception:
                    now = last or ("unknown", "")
                if now != last:
                    last = now
                    yield {"kind": "agent_state", "agent_id": agent_id, "state": now[0], "call_id": now[1]}
                try:
                    yield await asyncio.wait_for(queue.get(), POLL)
                except asyncio.TimeoutError:
                    continue
        finally:
            self._queues[agent_id].discard(queue)
