"""The agents' live event streams (the API's ``EventFeed``), in this process.

Whatever the controller wants a desk to see (a three-party step, why an agency was not
reached) is published for the agent; each subscriber (one open event stream) gets its own
queue. The agent's own state is watched as well: a change of it, read from the live state
once a second, is published as ``agent_state``, so the stream shows what every controller
did to the agent, not only this one.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, AsyncIterator, Awaitable, Callable

POLL = 1.0


class AgentEvents:
    def __init__(self, read_state: Callable[[str], Awaitable[Any]]) -> None:
        self._read_state = read_state
        self._queues: dict[str, set["asyncio.Queue[dict[str, Any]]"]] = defaultdict(set)

    def publish(self, agent_id: str, event: dict[str, Any]) -> None:
        for queue in self._queues.get(agent_id, ()):
            queue.put_nowait(event)

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
