"""The routing loop: whichever controller holds the leader lock routes for everyone.

Wakes on every change published in Redis (a call queued, an agent freed) and on a short
tick (relaxation steps and wrap-up ends are time-driven), takes a snapshot, asks the pure
core (acd.route) for assignments, claims each pair atomically in Redis and tells the
controller that owns the call. A claim that fails (another leader's late decision, an agent
who just logged out) is simply skipped: the next step decides again.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Mapping

from redis.exceptions import RedisError

from acd import Agent, Assignment, QueuePolicy, Snapshot, route
from agents.state import AgentRecord, AgentState, IllegalTransition, Reserve, apply
from hotline.live_state import QueuedCall
from hotline.snapshot import build_snapshot, to_acd_call

if TYPE_CHECKING:
    from hotline.controller import Services

log = logging.getLogger(__name__)
TICK = 0.25
LEADER_TTL_MS = 2000
LEASE_FRESH = LEADER_TTL_MS / 4000   # a lease renewed this recently is surely still ours
RENEW_EVERY = LEADER_TTL_MS / 5000   # renewed a little before it stops counting as fresh
MAX_SHAPES = 32         # new-call shapes (queue, language, skills, priority) kept prepared
SWEEP_EVERY = 5.0       # seconds between sweeps of state left by dead controllers
STUCK_AFTER = 60.0      # an agent reserved/ringing this long for a vanished call is freed


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


class RouterService:
    def __init__(self, services: "Services", tick: float = TICK) -> None:
        self.sv = services
        self.tick = tick
        self.wake = asyncio.Event()
        self.is_leader = False
        self.decisions = 0
        self._last_sweep = 0.0
        self._lease_renewed = 0.0
        self._redis_down = False
        self._stepping = asyncio.Lock()  # the loop and a session's inline step never interleave
        self._next_due: float | None = None  # the next wrap-up end or relaxation step
        # The routing input as the last step read it, while nothing is known to have changed
        # since (None = unknown: any "changed" message, or a claim of ours, drops it).
        self._mirror: tuple[list[QueuedCall], list[AgentRecord]] | None = None
        self._claims_in_flight = 0  # fast offers whose Redis claim has not answered yet
        # The mirror's agents as acd.Agent values (building them is most of a fast offer's
        # cost at 500 agents), good until the next wrap-up end changes someone's availability.
        self._mirror_agents: tuple[Agent, ...] | None = None
        self._mirror_agents_until = 0.0
        # Fast offers decided but not yet confirmed: their agents are taken meanwhile.
        self._promised: set[str] = set()
        # acd.route's answer for a lone new call of each recently seen shape, worked out
        # for the current mirror off the offer path (see fast_offer); valid while the
        # mirror's agents are the very tuple they were computed from.
        self._ready: dict[tuple[object, ...], Assignment | None] = {}
        self._ready_for: tuple[Agent, ...] | None = None
        self._shapes: dict[tuple[object, ...], QueuedCall] = {}

    async def run(self) -> None:
        last_step = float("-inf")
        while True:
            step_at = last_step + self.tick
            if self._next_due is not None:
                step_at = min(step_at, self._next_due)
            wake_at = min(step_at, self._lease_renewed + RENEW_EVERY) if self.is_leader else step_at
            woken = True
            try:
                await asyncio.wait_for(self.wake.wait(), max(0.0, wake_at - self.sv.clock()))
            except asyncio.TimeoutError:
                woken = False
            self.wake.clear()
            try:
                if woken or self.sv.clock() >= step_at:
                    last_step = self.sv.clock()
                    await self.step()
                else:
                    await self._lead()  # only the lease is due: keep it (fast offers need it)
            except RedisError as exc:
                # Calls keep flowing through the dialplan fallback meanwhile; say it once.
                if not self._redis_down:
                    log.error("Redis unavailable, routing paused until it answers: %s", exc)
                    self._redis_down = True
                self.is_leader = False
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("routing step failed; retrying on the next tick")
            if self._redis_down:
                log.warning("Redis answers again: routing resumed")
                self._redis_down = False

    @property
    def leads(self) -> bool:
        """Whether this controller holds a fresh leader lease right now (no I/O)."""
        return self.is_leader and self.sv.clock() - self._lease_renewed < LEASE_FRESH

    async def step(self, prefetched: tuple[list[QueuedCall], list[AgentRecord]] | None = None) -> int:
        """One routing step; returns the number of calls assigned. ``prefetched`` is the
        routing input when the caller already read it (a new call's enqueue did)."""
        async with self._stepping:
            return await self._step(prefetched)

    async def _step(self, prefetched: tuple[list[QueuedCall], list[AgentRecord]] | None) -> int:
        live = self.sv.live
        if not await self._lead():
            return 0
        now = self.sv.clock()
        if now - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = now
            await self.sweep(now)
        calls, records = prefetched if prefetched is not None else await live.routing_input()
        self._next_due = None
        # A read taken while a fast offer's claim is in flight may not show that claim yet.
        self._mirror = (calls, records) if not self._claims_in_flight else None
        self._mirror_agents = None
        if not calls:
            if self._mirror is not None:
                self._agents_at(records, now)  # built here, off the next call's offer path
                self._prepare_soon()
            return 0
        self._mirror = None  # claims follow: the picture changes
        snapshot = build_snapshot(calls, records, self.sv.roster, self.sv.queues, now)
        self._next_due = next_due(calls, records, self.sv.queues, now)
        owners = {c.call_id: c.owner for c in calls}
        assigned = 0
        for a in route(snapshot, now):
            if await live.claim(a.call_id, a.agent_id, now, a.queue) == 1:
                assigned += 1
                if owners[a.call_id] == self.sv.controller_id:
                    self.sv.deliver(a.call_id, a.agent_id, a.relax_step)
                else:
                    await live.publish_assignment(owners[a.call_id], a.call_id, a.agent_id, a.relax_step)
        self.decisions += 1
        return assigned

    def forget(self) -> None:
        """Live state changed somewhere (a "changed" message): the mirror is stale."""
        self._mirror = None
        self._mirror_agents = None

    def fast_offer(self, call: QueuedCall) -> Assignment | None:
        """Decide a new call at once, with no Redis read, when that is the same decision a
        full step would make: this controller leads, no step is running, and the last step
        saw no call waiting and nothing has changed since. Only then does the new call stand
        alone in line, so acd.route over the mirrored agents plus this call is the step.
        For a call of a shape seen before, that answer was worked out in advance (after the
        last change, off the offer path) and is only looked up here.
        The caller must ``confirm`` the offer once its Dial is on its way (that takes the
        agent in the mirror and claims them in Redis) and withdraw the ring if the claim
        fails; until then the agent is promised, so this leader never offers them twice."""
        if self._mirror is None or self._mirror[0] or self._stepping.locked() or not self.leads:
            return None
        now = self.sv.clock()
        policy = self.sv.queues.get(call.queue)
        if policy is None:
            return None
        agents = self._agents_at(self._mirror[1], now)
        shape = self._shape(call, policy, now)
        if shape is not None and self._ready_for is agents and shape in self._ready:
            ready = self._ready[shape]
            if ready is None:
                return None
            if ready.agent_id not in self._promised:
                return self._promise(replace(ready, call_id=call.call_id))
        decided = self._decide(call, agents, now)
        if shape is not None:
            self._shapes.pop(shape, None)
            self._shapes[shape] = call  # most recent last; the oldest shapes fall out
            while len(self._shapes) > MAX_SHAPES:
                del self._shapes[next(iter(self._shapes))]
        return None if decided is None else self._promise(decided)

    def _decide(self, call: QueuedCall, agents: tuple[Agent, ...], now: float) -> Assignment | None:
        if self._promised:
            agents = tuple(a for a in agents if a.agent_id not in self._promised)
        for a in route(Snapshot(calls=(to_acd_call(call),), agents=agents, queues=self.sv.queues), now):
            return a
        return None

    def _promise(self, a: Assignment) -> Assignment:
        self._promised.add(a.agent_id)
        self._claims_in_flight += 1  # a step's read meanwhile may not show this offer's claim
        self.decisions += 1
        return a

    @staticmethod
    def _shape(call: QueuedCall, policy: QueuePolicy, now: float) -> tuple[object, ...] | None:
        """What a lone new call's routing depends on, for the calls whose answer does not
        depend on the clock: no exclusions, no callback pacing or retry, and still in the
        first relaxation step (a new call always is). None for any other call."""
        if call.excluded or call.callback or call.not_before > now or policy.step_index(now - call.arrived_at):
            return None
        return (call.queue, call.language, call.skills, call.priority)

    def _agents_at(self, records: list[AgentRecord], now: float) -> tuple[Agent, ...]:
        """The mirror's agents for the router at ``now``, rebuilt only when a wrap-up has
        ended since they were built (availability depends on the clock only there)."""
        if self._mirror_agents is None or now >= self._mirror_agents_until:
            self._mirror_agents = build_snapshot([], records, self.sv.roster, self.sv.queues, now).agents
            ends = [r.wrap_until for r in records
                    if r.state is AgentState.WRAP_UP and r.wrap_until is not None and r.wrap_until > now]
            self._mirror_agents_until = min(ends, default=float("inf"))
        return self._mirror_agents

    def prepare(self) -> None:
        """Work out, for the current mirror, the answer for a lone new call of each shape
        seen recently, so the next such call's fast offer is a dictionary look-up. Run after
        each change of the mirror, off the offer path (scheduled with call_soon)."""
        if self._mirror is None or self._mirror[0] or not self._shapes:
            return
        now = self.sv.clock()
        agents = self._agents_at(self._mirror[1], now)
        if self._ready_for is not agents:
            self._ready, self._ready_for = {}, agents
        for shape, call in self._shapes.items():
            if shape not in self._ready:
                self._ready[shape] = self._decide(replace(call, arrived_at=now, not_before=0.0), agents, now)

    def _prepare_soon(self) -> None:
        if self._shapes:
            asyncio.get_running_loop().call_soon(self.prepare)

    def confirm(self, call: QueuedCall, agent_id: str) -> "asyncio.Task[bool]":
        """Take the promised agent in the mirror and claim the offer in Redis, in the
        background (the session rings meanwhile). The task's result: True, claimed; False,
        the agent was not free after all: the call waits in line and the mirror is dropped.
        The session calls this once Asterisk has sent the agent's INVITE (CallSession._ringing),
        so that Redis and this process do not take the two cores from Asterisk meanwhile."""
        self.taken(call, agent_id)

        async def claim() -> bool:
            try:
                ok = await self.sv.live.enqueue_claimed(call, agent_id, self.sv.clock())
            except BaseException:
                self.forget()
                raise
            finally:
                self._claims_in_flight -= 1
            if not ok:
                self.forget()
            else:
                self._prepare_soon()  # the next call's answers, now that the INVITE is out
            return ok

        return self.sv.tasks.spawn(claim(), f"claim-{call.call_id}")

    def taken(self, call: QueuedCall, agent_id: str) -> None:
        """A fast offer's Dial is on its way: the promised agent is now reserved in the
        mirror, as the claim will reserve them in Redis."""
        self._promised.discard(agent_id)
        if self._mirror is None:
            return
        now = self.sv.clock()
        try:
            records = [apply(r, Reserve(call.call_id, call.queue), now) if r.agent_id == agent_id else r
                       for r in self._mirror[1]]
        except IllegalTransition:  # the mirror disagrees with the core: read Redis instead
            self.forget()
            return
        self._mirror = ([], records)
        if self._mirror_agents is not None:
            self._mirror_agents = tuple(replace(x, available=False, idle_since=now) if x.agent_id == agent_id else x
                                        for x in self._mirror_agents)

    async def _lead(self) -> bool:
        """Hold the leader lease; renewed a few times per TTL, not on every step (a renewal
        is a Redis round trip on the offer path)."""
        now = self.sv.clock()
        if self.is_leader and now - self._lease_renewed < RENEW_EVERY:
            return True
        leader = await self.sv.live.try_lead(self.sv.controller_id, LEADER_TTL_MS)
        if leader != self.is_leader:
            log.info("controller %s %s the router", self.sv.controller_id, "leads" if leader else "no longer leads")
            self.is_leader = leader
        if leader:
            self._lease_renewed = now
        return leader

    async def sweep(self, now: float) -> None:
        """Clean up after controllers that died: their waiting calls went to the dialplan
        fallback (the AGI socket closed), so drop them; their callback requests are adopted
        (the citizen still expects the call); agents stuck reserved for a vanished call are
        freed."""
        live = self.sv.live
        calls = await live.waiting()
        alive = await live.alive({c.owner for c in calls} | {self.sv.controller_id})
        for call in calls:
            if call.owner in alive:
                continue
            if call.callback:
                log.info("adopting callback %s of dead controller %s", call.call_id, call.owner)
                await live.adopt(call.call_id, self.sv.controller_id)
            else:
                log.info("dropping call %s of dead controller %s", call.call_id, call.owner)
                await live.remove_call(call.call_id)
        for record in await live.agents():
            if record.state.value in ("reserved", "ringing") and now - record.since > STUCK_AFTER:
                if record.call_id and await live.call(record.call_id) is not None:
                    continue
                log.warning("agent %s stuck %s for vanished call %s: freed", record.agent_id,
                            record.state.value, record.call_id)
                await self.sv.desk.released(record.agent_id)
