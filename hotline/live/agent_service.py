"""Agent state changes against live state: the pure machine (agents/state.py) applied
atomically to the agent's Redis record.

An illegal transition (a late or duplicate event) is logged and leaves the record as it
was: it never crashes a call session.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Mapping

from acd import QueuePolicy
from agents.roster import RosterAgent
from agents.state import (
    AgentRecord,
    AgentState,
    Answer,
    Cancel,
    EndWrapUp,
    Event,
    ForceLogOut,
    Hangup,
    IllegalTransition,
    LogIn,
    LogOut,
    Miss,
    Pause,
    Ring,
    Unpause,
    apply,
    settle,
)
from hotline.live.redis_state import LiveState

log = logging.getLogger(__name__)


class AgentService:
    """Agent events applied to the agents' live records (the pure machine, atomically)."""

    def __init__(self, live: LiveState, clock: Callable[[], float],
                 on_change: Callable[[AgentRecord, float], None] | None = None) -> None:
        self.live = live
        self.clock = clock
        # Told every change of state or pause reason (the durable state log,
        # hotline/store/agent_states.py); reservations and rings are not shift states.
        self.on_change = on_change

    def _changed_from(self, before: AgentRecord | None, after: AgentRecord | None, now: float) -> None:
        if self.on_change is None or after is None or after.state in (AgentState.RESERVED, AgentState.RINGING):
            return
        if before is None or (before.state, before.pause_reason) != (after.state, after.pause_reason):
            self.on_change(after, now)

    async def _apply(self, agent_id: str, event: Event, policy: QueuePolicy | None = None,
                     already: AgentState | None = None) -> AgentRecord | None:
        """Apply ``event`` atomically; a record already in state ``already`` is left as it
        is (the event arrived after the one that made it moot)."""
        now = self.clock()
        seen: list[AgentRecord] = []

        def change(record: AgentRecord) -> AgentRecord:
            seen[:] = [record]  # the record the change that landed was made from
            return record if record.state is already else apply(record, event, now, policy)

        try:
            result = await self.live.update_agent(agent_id, change)
            self._changed_from(seen[0] if seen else None, result, now)
            return result
        except IllegalTransition as exc:
            log.warning("%s", exc)
        except KeyError:
            log.warning("agent %s: %s for an agent with no live record", agent_id, type(event).__name__)
        return None

    async def log_in_roster(self, roster: Iterable[RosterAgent],
                            last_seen: Mapping[str, AgentRecord] | None = None) -> None:
        """Create live records for agents Redis does not know: as ``last_seen`` (the state
        log) has them (on shift, paused with the same reason, or logged out), else logged in
        when the roster marks the seat ``login: true``. Agents already known keep their state
        (a restarted controller does not reset them)."""
        for seat in roster:
            if await self.live.agent(seat.agent_id) is None:
                await self.live.put_agent(AgentRecord(agent_id=seat.agent_id, since=self.clock()))
                seen = (last_seen or {}).get(seat.agent_id)
                if seen is None and seat.login:
                    await self.log_in(seat.agent_id)
                elif seen is not None and seen.state is not AgentState.LOGGED_OUT:
                    await self.log_in(seat.agent_id,
                                      paused=seen.pause_reason if seen.state is AgentState.PAUSED else None)

    async def log_in(self, agent_id: str, paused: str | None = None) -> AgentRecord | None:
        """Start a shift. With ``paused``, log in and pause in ONE atomic update, so the
        agent is never visible as available in between (app_queue's add-then-pause rings
        agents in that window)."""
        record = await self.live.agent(agent_id)
        if record is None:
            await self.live.put_agent(AgentRecord(agent_id=agent_id, since=self.clock()))
        elif record.state is not AgentState.LOGGED_OUT:
            return record
        now = self.clock()

        def change(r: AgentRecord) -> AgentRecord:
            r = apply(r, LogIn(), now)
            return apply(r, Pause(paused), now) if paused else r

        try:
            result = await self.live.update_agent(agent_id, change)
        except IllegalTransition as exc:
            log.warning("%s", exc)
            return None
        self._changed_from(None, result, now)
        if not paused:
            await self.live.notify_changed()
        return result

    async def pause(self, agent_id: str, reason: str) -> AgentRecord | None:
        """Pause; if the phone was being rung for a call, that ring is withdrawn now."""
        return await self._leave(agent_id, Pause(reason))

    async def log_out(self, agent_id: str) -> AgentRecord | None:
        """End the shift; a phone being rung for a call stops ringing."""
        return await self._leave(agent_id, LogOut())

    async def force_log_out(self, agent_id: str, reason: str) -> AgentRecord | None:
        """Take the agent out of any state, on_call included (an operator's override when a
        call is known to be gone); any ring of theirs is withdrawn. Logged with the reason."""
        before = await self.live.agent(agent_id)
        record = await self._leave(agent_id, ForceLogOut(reason))
        if record is not None:
            log.warning("agent %s forced out of %s (call %s): %s", agent_id,
                        before.state.value if before else "?", before.call_id if before else "-", reason)
        return record

    async def _leave(self, agent_id: str, event: Event) -> AgentRecord | None:
        before = await self.live.agent(agent_id)
        record = await self._apply(agent_id, event)
        if record is not None and before is not None and before.state in (AgentState.RESERVED, AgentState.RINGING):
            await self.live.stop_ringing(agent_id)
        # Every router forgets its picture of the agents: the leader must not offer a new
        # call to this agent from a mirror that still shows them free (RouterService.fast_offer).
        await self.live.notify_changed()
        return record

    async def settle(self, agent_id: str) -> AgentRecord | None:
        """A wrap-up whose time is over ends now in the live state too (available, or paused
        if a pause is pending), stamped with its end (``wrap_until``): the desk, the wallboard
        and the state log see it when it happens, not when something next reads the agent."""
        now = self.clock()
        seen: list[AgentRecord] = []

        def change(record: AgentRecord) -> AgentRecord:
            seen[:] = [record]
            return settle(record, now)

        try:
            result = await self.live.update_agent(agent_id, change)
        except KeyError:
            return None
        if seen and result is not seen[0]:
            self._changed_from(seen[0], result, result.since)
        return result

    async def end_wrap_up(self, agent_id: str) -> AgentRecord | None:
        """"Ready now": the wrap-up ends before its time (the caller checked the queue allows it)."""
        result = await self._apply(agent_id, EndWrapUp())
        await self.live.notify_changed()
        return result

    async def unpause(self, agent_id: str) -> AgentRecord | None:
        result = await self._apply(agent_id, Unpause())
        await self.live.notify_changed()
        return result

    async def ringing(self, agent_id: str, call_id: str) -> None:
        """The agent's phone rings; if their answer was heard first, they stay on the call."""
        await self._apply(agent_id, Ring(), already=AgentState.ON_CALL)

    async def answered(self, agent_id: str) -> None:
        await self._apply(agent_id, Answer())

    async def call_ended(self, agent_id: str, policy: QueuePolicy, answered_at: float) -> None:
        record = await self.live.agent(agent_id)
        if record is not None and record.state is AgentState.RINGING:
            await self._apply(agent_id, Answer())  # the DialEnd event was lost (AMI down)
        await self._apply(agent_id, Hangup(), policy)
        await self.live.notify_changed()

    async def released(self, agent_id: str) -> None:
        """The offer was withdrawn (caller gone): free again, not a miss."""
        await self._apply(agent_id, Cancel())
        await self.live.notify_changed()

    async def missed(self, agent_id: str, policy: QueuePolicy) -> bool:
        """Count a ring-no-answer; False when the offer had been withdrawn instead (the agent
        paused or logged out while ringing), which is not the agent's miss."""
        current = await self.live.agent(agent_id)
        if current is not None and current.state not in (AgentState.RESERVED, AgentState.RINGING):
            return False
        record = await self._apply(agent_id, Miss(), policy)
        if record is not None and record.state is AgentState.PAUSED:
            log.warning("agent %s paused after %d ring-no-answer(s)", agent_id, policy.max_misses_before_pause)
        await self.live.notify_changed()
        return True
