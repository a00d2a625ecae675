"""``LiveAgentDesk``: the API's ``AgentDesk`` port over the controller's ``AgentService`` and
live state (Redis), for the composition root to plug in.

Why an adapter: ``AgentService`` serves the call sessions, where an illegal transition is a
late event to log and forget (it returns None). A person at a desk needs to be told instead:
here None becomes ``IllegalOperation`` naming the state, an agent outside the roster
``NotFound``, and a Redis that does not answer ``Unavailable``.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Collection, TypeVar

from redis.exceptions import RedisError

from acd import QueuePolicy
from agents.state import AgentRecord, AgentState
from hotline.api.ports import IllegalOperation, NotFound, Unavailable
from hotline.live.agent_service import AgentService

T = TypeVar("T")


class LiveAgentDesk:
    """``AgentDesk`` on the live state. ``live`` is what ``service`` writes to (``LiveState``,
    or the in-memory one of the tests); ``roster_ids`` gives the seats in force."""

    def __init__(self, service: AgentService, live: Any, roster_ids: Callable[[], Collection[str]],
                 phone_gone: Callable[[str], str | None] = lambda agent_id: None,
                 policy_of: Callable[[str], QueuePolicy | None] = lambda queue: None,
                 order_filed: Callable[[str], Awaitable[bool]] | None = None) -> None:
        self.service = service
        self.live = live
        self.roster_ids = roster_ids
        self.policy_of = policy_of      # a queue's rules: may its wrap-up end early, must a work order be filed
        self.order_filed = order_filed  # whether a call's work order is saved (None: not checked)
        self.phone_gone = phone_gone  # the pause reason while the agent's softphone is gone (PhoneWatch)

    async def _call(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except (RedisError, ConnectionError, TimeoutError) as exc:
            raise Unavailable(f"the live state does not answer: {type(exc).__name__}") from exc

    async def state(self, agent_id: str) -> AgentRecord:
        if agent_id not in self.roster_ids():
            raise NotFound(f"no agent {agent_id} in the roster")
        record = await self._call(self.live.agent(agent_id))
        return record if record is not None else AgentRecord(agent_id=agent_id)

    async def states(self) -> list[AgentRecord]:
        known = {r.agent_id: r for r in await self._call(self.live.agents())}
        return [known.get(agent_id) or AgentRecord(agent_id=agent_id) for agent_id in sorted(self.roster_ids())]

    async def _change(self, agent_id: str, what: str, work: Callable[[], Awaitable[AgentRecord | None]]
                      ) -> AgentRecord:
        before = await self.state(agent_id)
        after = await self._call(work())
        if after is None:
            raise IllegalOperation(f"agent {agent_id}: cannot {what} while {before.state.value}")
        return after

    async def log_in(self, agent_id: str, paused: str | None = None) -> AgentRecord:
        """Log in; paused with the phone's reason while the agent's softphone is gone."""
        paused = paused or self.phone_gone(agent_id)
        return await self._change(agent_id, "log in", lambda: self.service.log_in(agent_id, paused))

    async def ready(self, agent_id: str) -> AgentRecord:
        current = await self.state(agent_id)
        if current.state is AgentState.AVAILABLE:
            return current
        if current.state is AgentState.LOGGED_OUT:
            raise IllegalOperation(f"agent {agent_id}: logged out (log in first)")
        gone = self.phone_gone(agent_id)
        if gone is not None:
            raise IllegalOperation(f"agent {agent_id}: the softphone is not reachable ({gone}); "
                                   "register it first", error_id=gone)
        if current.state is AgentState.WRAP_UP:
            return await self._ready_now(current)
        return await self._change(agent_id, "be ready", lambda: self.service.unpause(agent_id))

    async def _ready_now(self, current: AgentRecord) -> AgentRecord:
        """End the wrap-up early, where the call's queue allows it and once its work order is
        saved; a pause asked for during the call is dropped (the agent asks to be ready)."""
        agent_id = current.agent_id
        policy = self.policy_of(current.queue or "")
        if policy is not None and not policy.wrapup_may_end_early:
            raise IllegalOperation(f"agent {agent_id}: the wrap-up of queue {policy.name} runs its full "
                                   f"{policy.wrapup_seconds:g} s", error_id="wrap_up_fixed")
        required = policy.work_order_required if policy is not None else True
        if required and current.call_id and self.order_filed is not None:
            if not await self._call(self.order_filed(current.call_id)):
                raise IllegalOperation(f"agent {agent_id}: save the work order of call {current.call_id} first",
                                       error_id="work_order_required")
        if current.pause_reason is not None:
            await self._call(self.service.unpause(agent_id))
        return await self._change(agent_id, "end the wrap-up", lambda: self.service.end_wrap_up(agent_id))

    async def pause(self, agent_id: str, reason: str) -> AgentRecord:
        return await self._change(agent_id, "pause", lambda: self.service.pause(agent_id, reason))

    async def log_out(self, agent_id: str) -> AgentRecord:
        return await self._change(agent_id, "log out", lambda: self.service.log_out(agent_id))

    async def force_log_out(self, agent_id: str, reason: str) -> AgentRecord:
        return await self._change(agent_id, "be forced out", lambda: self.service.force_log_out(agent_id, reason))

    async def ping(self) -> bool:
        try:
            await self.live.flags()
            return True
        except Exception:  # whatever the client raises, the answer is "not answering"
            return False
