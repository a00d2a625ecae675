"""What the IVR and the waiting announcements are told about a caller: how often they called
lately (repeat callers are served first), the operator's switches (the emergency notice), and
their place in line. Each answer degrades to a safe default when its store is down: a call is
never lost because a figure could not be read."""
from __future__ import annotations

import asyncio
import logging

from agents.state import AgentState
from calls.model import QueuedCall
from calls.waiting import expected_wait_minutes, position_ahead
from hotline.config import ConfigHolder
from hotline.ports import LiveStore
from hotline.store.calls import CallStore

log = logging.getLogger(__name__)
REPEAT_WINDOW_DAYS = 30
OFF_SHIFT = (AgentState.LOGGED_OUT, AgentState.PAUSED)


class CallerFacts:
    def __init__(self, live: LiveStore, store: CallStore, config: ConfigHolder) -> None:
        self._live = live
        self._store = store
        self._config = config

    async def repeat_calls(self, caller: str, now: float) -> int:
        """Calls from this number in the last 30 days (0 while the database is down)."""
        try:
            return await asyncio.to_thread(self._store.count_calls_from, caller, now - REPEAT_WINDOW_DAYS * 86400)
        except Exception:
            log.warning("repeat-caller count unavailable (database down?): assuming 0")
            return 0

    async def flags(self) -> dict[str, str]:
        """The operator's switches (none while Redis is down)."""
        try:
            return await self._live.flags()
        except Exception as exc:
            log.warning("flags unavailable (%s): none in force", exc)
            return {}

    async def waiting_figures(self, call: QueuedCall) -> tuple[int, int]:
        """(callers ahead, expected wait in minutes) for an announcement."""
        config = self._config.current
        waiting, records = await self._live.routing_input()
        position = position_ahead(call, waiting, config.queues)
        on_shift = sum(1 for r in records
                       if r.state not in OFF_SHIFT and r.agent_id in config.roster
                       and call.language in config.roster[r.agent_id].languages)
        return position, expected_wait_minutes(position, on_shift)
