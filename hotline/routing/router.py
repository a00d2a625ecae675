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
from typing import Awaitable, Callable

from redis.exceptions import RedisError

from acd import Assignment, QueuePolicy, route
from agents.state import AgentRecord, AgentState
from calls.due import next_due
from calls.model import QueuedCall
from calls.snapshot import build_snapshot
from hotline.asterisk.channels import agent_of
from hotline.config import ConfigHolder
from hotline.ports import AgentEvents, LiveStore
from hotline.routing.offer_book import OfferBook
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
TICK = 0.25
LEADER_TTL_MS = 2000
LEASE_FRESH = LEADER_TTL_MS / 4000   # a lease renewed this recently is surely still ours
RENEW_EVERY = LEADER_TTL_MS / 5000   # renewed a little before it stops counting as fresh
SWEEP_EVERY = 5.0       # seconds between sweeps of state left by dead controllers
STUCK_AFTER = 60.0      # an agent reserved/ringing this long for a vanished call is freed
GONE_AFTER = 4.0        # an agent bound to a call whose phone has had no channel this long is freed
BOUND = (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL)


class RouterService:
    """The router of one controller: leads (holds the lease) or stands by.

    ``deliver(call_id, agent_id, relax_step)`` hands an assignment for a call this
    controller owns to its session; ``agents.released`` frees an agent left stuck."""

    def __init__(self, controller_id: str, clock: Callable[[], float], live: LiveStore, config: ConfigHolder,
                 agents: AgentEvents, tasks: TaskOwner, deliver: Callable[[str, str, int], None],
                 tick: float = TICK, channels: Callable[[], Awaitable[set[str]]] | None = None,
                 redis_back: Callable[[], Awaitable[None]] | None = None,
                 orphans: Callable[[float], Awaitable[int]] | None = None,
                 fallback_members: Callable[[list[AgentRecord]], None] | None = None) -> None:
        self.controller_id = controller_id
        self.clock = clock
        self.live = live
        self.config = config
        self.agents = agents
        self.tasks = tasks
        self.deliver = deliver
        self.tick = tick
        self.channels = channels  # the channel names Asterisk has now (AMI), for the sweep
        self._no_channel_since: dict[str, float] = {}
        self.redis_back = redis_back  # rebuilds what an emptied Redis lost, before routing goes on
        self.orphans = orphans  # finishes the calls of dead controllers (sessions/orphans.py)
        self.last_agents: dict[str, AgentRecord] = {}  # the agents as the last routing step read them
        self.fallback_members = fallback_members  # app_queue's member pauses follow the shifts
        self.wake = asyncio.Event()
        self.is_leader = False
        self._last_sweep = 0.0
        self._lease_renewed = 0.0
        self._redis_down = False
        self._stepping = asyncio.Lock()  # the loop and a session's inline step never interleave
        self._next_due: float | None = None  # the next wrap-up end or relaxation step
        self.book = OfferBook(config)  # the fast-offer decision, pure

    async def run(self) -> None:
        last_step = float("-inf")
        while True:
            step_at = last_step + self.tick
            if self._next_due is not None:
                step_at = min(step_at, self._next_due)
            wake_at = min(step_at, self._lease_renewed + RENEW_EVERY) if self.is_leader else step_at
            woken = True
            try:
                await asyncio.wait_for(self.wake.wait(), max(0.0, wake_at - self.clock()))
            except asyncio.TimeoutError:
                woken = False
            self.wake.clear()
            try:
                if self._redis_down and self.redis_back is not None:
                    # First rebuild what an emptied Redis lost, from what this process last saw
                    # (a step would overwrite that picture with the empty one). Raises while
                    # Redis is still away.
                    await self.redis_back()
                if woken or self.clock() >= step_at:
                    last_step = self.clock()
                    await self.step()
                else:
                    await self.lead()  # only the lease is due: keep it (fast offers need it)
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
        return self.is_leader and self.clock() - self._lease_renewed < LEASE_FRESH

    async def step(self, prefetched: tuple[list[QueuedCall], list[AgentRecord]] | None = None) -> int:
        """One routing step; returns the number of calls assigned. ``prefetched`` is the
        routing input when the caller already read it (a new call's enqueue did)."""
        async with self._stepping:
            return await self._step(prefetched)

    async def _step(self, prefetched: tuple[list[QueuedCall], list[AgentRecord]] | None) -> int:
        live = self.live
        if not await self.lead():
            return 0
        now = self.clock()
        if now - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = now
            await self.sweep(now)
        calls, records = prefetched if prefetched is not None else await live.routing_input()
        self.last_agents = {r.agent_id: r for r in records}  # what a Redis that comes back empty lost
        if self.fallback_members is not None:
            self.fallback_members(records)
        for record in records:  # wrap-ups over: ended in the live state now, not when next read
            if record.state is AgentState.WRAP_UP and record.wrap_until is not None and record.wrap_until <= now:
                await self.agents.settle(record.agent_id)
        self._next_due = None
        if self.book.observe(calls, records, now):
            self._prepare_soon()
        if not calls:
            return 0
        config = self.config.current
        snapshot = build_snapshot(calls, records, config.roster, config.queues, now)
        self._next_due = next_due(calls, records, config.queues, now)
        owners = {c.call_id: c.owner for c in calls}
        assigned = 0
        for a in route(snapshot, now):
            if await live.claim(a.call_id, a.agent_id, now, a.queue) == 1:
                assigned += 1
                if owners[a.call_id] == self.controller_id:
                    self.deliver(a.call_id, a.agent_id, a.relax_step)
                else:
                    await live.publish_assignment(owners[a.call_id], a.call_id, a.agent_id, a.relax_step)
        return assigned

    def forget(self) -> None:
        """Live state changed somewhere (a "changed" message): the mirror is stale."""
        self.book.forget()

    def fast_offer(self, call: QueuedCall) -> Assignment | None:
        """Decide a new call at once, with no Redis read (``OfferBook.decide``), when this
        controller leads and no step is running. The caller must ``confirm`` the offer once
        its Dial is on its way and withdraw the ring if the claim fails."""
        if self._stepping.locked() or not self.leads:
            return None
        return self.book.decide(call, self.clock())

    async def enqueue(self, call: QueuedCall) -> None:
        """Put a call in the shared queue. When this controller leads, route it at once from
        the input the enqueue returned: no wake-up hop, no second read."""
        if self.leads:
            await self.step(prefetched=await self.live.enqueue_and_read(call))
        else:
            await self.live.enqueue(call)

    def prepare(self) -> None:
        """Prepare the next lone calls' answers (``OfferBook.prepare``), off the offer path."""
        self.book.prepare(self.clock())

    def _prepare_soon(self) -> None:
        if self.book.has_shapes:
            asyncio.get_running_loop().call_soon(self.prepare)

    def confirm(self, call: QueuedCall, agent_id: str) -> "asyncio.Task[bool]":
        """Take the promised agent in the book and claim the offer in Redis, in the
        background (the session rings meanwhile). The task's result: True, claimed; False,
        the agent was not free after all: the call waits in line and the mirror is dropped.
        The session calls this once Asterisk has sent the agent's INVITE (CallSession._ringing),
        so that Redis and this process do not take the two cores from Asterisk meanwhile."""
        self.book.taken(call, agent_id, self.clock())

        async def claim() -> bool:
            ok = False
            try:
                ok = await self.live.enqueue_claimed(call, agent_id, self.clock())
            finally:
                self.book.claim_finished(ok)
            if ok:
                self._prepare_soon()  # the next call's answers, now that the INVITE is out
            return ok

        return self.tasks.spawn(claim(), f"claim-{call.call_id}")

    async def lead(self) -> bool:
        """Hold the leader lease; renewed a few times per TTL, not on every step (a renewal
        is a Redis round trip on the offer path)."""
        now = self.clock()
        if self.is_leader and now - self._lease_renewed < RENEW_EVERY:
            return True
        leader = await self.live.try_lead(self.controller_id, LEADER_TTL_MS)
        if leader != self.is_leader:
            log.info("controller %s %s the router", self.controller_id, "leads" if leader else "no longer leads")
            self.is_leader = leader
        if leader:
            self._lease_renewed = now
        return leader

    async def sweep(self, now: float) -> None:
        """Clean up after controllers that died: their waiting calls went to the dialplan
        fallback (the AGI socket closed), so drop them; their callback requests are adopted
        (the citizen still expects the call); agents stuck reserved for a vanished call are
        freed."""
        live = self.live
        calls = await live.waiting()
        alive = await live.alive({c.owner for c in calls} | {self.controller_id})
        for call in calls:
            if call.owner in alive:
                continue
            if call.callback:
                log.info("adopting callback %s of dead controller %s", call.call_id, call.owner)
                await live.adopt(call.call_id, self.controller_id)
            else:
                log.info("dropping call %s of dead controller %s", call.call_id, call.owner)
                await live.remove_call(call.call_id)
        if self.orphans is not None:
            await self.orphans(now)
        records = await live.agents()
        await self._free_agents_without_a_phone_channel(records, now)
        for record in records:
            if record.state.value in ("reserved", "ringing") and now - record.since > STUCK_AFTER:
                if record.call_id and await live.call(record.call_id) is not None:
                    continue
                log.warning("agent %s stuck %s for vanished call %s: freed", record.agent_id,
                            record.state.value, record.call_id)
                await self.agents.released(record.agent_id)

    async def _free_agents_without_a_phone_channel(self, records: list[AgentRecord], now: float) -> None:
        """An agent bound to a call (reserved, ringing, on call) whose phone has had no
        channel in Asterisk for GONE_AFTER seconds is freed: the call is gone (a controller
        died mid-call, an event was lost), and nothing else would ever end that state. An
        agent on call goes to wrap-up, a reserved or ringing one back to available. Nothing
        is decided while Asterisk cannot be asked."""
        if self.channels is None:
            return
        try:
            phones = {agent_of(name) for name in await self.channels()}
        except Exception as exc:
            log.debug("sweep: channels unknown (%s): agents left as they are", exc)
            return
        bound = {r.agent_id for r in records if r.state in BOUND}
        for agent_id in list(self._no_channel_since):
            if agent_id not in bound or agent_id in phones:
                del self._no_channel_since[agent_id]
        for record in records:
            if record.state not in BOUND or record.agent_id in phones:
                continue
            missing_since = self._no_channel_since.setdefault(record.agent_id, now)
            if now - max(missing_since, record.since) < GONE_AFTER:
                continue
            log.warning("agent %s is %s for call %s but their phone has no channel in Asterisk: freed",
                        record.agent_id, record.state.value, record.call_id)
            del self._no_channel_since[record.agent_id]
            if record.state is AgentState.ON_CALL:
                policy = self.config.current.queues.get(record.queue or "") or QueuePolicy(record.queue or "main")
                await self.agents.call_ended(record.agent_id, policy, record.since)
            else:
                await self.agents.released(record.agent_id)
