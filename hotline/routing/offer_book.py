"""The leader's fast-offer book: decide a new call at once, from what the last step saw.

Pure (no I/O, no event loop, the clock is an argument): the router feeds it each routing
input it reads and each change it hears of, and asks it for a decision when a new call
arrives. A fast offer must be exactly the decision a full routing step would take for the new
call standing alone in line; that holds only while the last step saw no call waiting and
nothing is known to have changed since. Then acd.route over the mirrored agents plus this
call *is* the step. For a call of a shape seen before (queue, language, skills, priority),
that answer was worked out in advance (``prepare``, after the last change, off the offer
path) and is only looked up.

A decided offer's agent is *promised* until the session's Dial is out (``taken``: reserved in
the mirror, as the Redis claim reserves them), so this leader never offers them twice; an
offer whose claim is in flight makes any routing input read meanwhile untrustworthy
(``observe`` then keeps no mirror).
"""
from __future__ import annotations

from dataclasses import replace

from acd import Agent, Assignment, QueuePolicy, Snapshot, route
from agents.state import AgentRecord, AgentState, IllegalTransition, Reserve, apply
from calls.model import QueuedCall
from calls.snapshot import build_snapshot, to_acd_call
from hotline.config import ConfigHolder

MAX_SHAPES = 32  # new-call shapes kept prepared


class OfferBook:
    def __init__(self, config: ConfigHolder) -> None:
        self._config = config
        # The routing input as the last step read it, while nothing is known to have changed
        # since (None = unknown: any "changed" message, or a claim of ours, drops it).
        self.mirror: tuple[list[QueuedCall], list[AgentRecord]] | None = None
        self.claims_in_flight = 0  # fast offers whose Redis claim has not answered yet
        # The mirror's agents as acd.Agent values (building them is most of a fast offer's
        # cost at 500 agents), good until the next wrap-up end changes someone's availability.
        self._agents: tuple[Agent, ...] | None = None
        self._agents_until = 0.0
        self.promised: set[str] = set()  # decided, not yet taken: not offered again
        # acd.route's answer for a lone new call of each recent shape, for the agents tuple
        # it was computed from (stale as soon as that tuple is replaced).
        self._ready: dict[tuple[object, ...], Assignment | None] = {}
        self._ready_for: tuple[Agent, ...] | None = None
        self._shapes: dict[tuple[object, ...], QueuedCall] = {}

    # -- what the router tells it ---------------------------------------------------------------
    def observe(self, calls: list[QueuedCall], records: list[AgentRecord], now: float) -> bool:
        """A step read this routing input. Returns True when the book can now offer fast
        (nobody waiting, no claim of ours in flight), after building the agents off the
        offer path."""
        self.mirror = (calls, records) if not self.claims_in_flight and not calls else None
        self._agents = None
        if self.mirror is None:
            return False
        self._agents_at(records, now)
        return True

    def forget(self) -> None:
        """Live state changed somewhere: the mirror is stale."""
        self.mirror = None
        self._agents = None

    @property
    def has_shapes(self) -> bool:
        return bool(self._shapes)

    # -- the decision --------------------------------------------------------------------------
    def decide(self, call: QueuedCall, now: float) -> Assignment | None:
        """The fast offer for a new call, or None (then it goes through the shared queue).
        A returned offer's agent is promised until ``taken`` or ``claim_finished``."""
        if self.mirror is None or self.mirror[0]:
            return None
        policy = self._config.current.queues.get(call.queue)
        if policy is None:
            return None
        agents = self._agents_at(self.mirror[1], now)
        shape = self._shape(call, policy, now)
        if shape is not None and self._ready_for is agents and shape in self._ready:
            ready = self._ready[shape]
            if ready is None:
                return None
            if ready.agent_id not in self.promised:
                return self._promise(replace(ready, call_id=call.call_id))
        decided = self._route_alone(call, agents, now)
        if shape is not None:
            self._shapes.pop(shape, None)
            self._shapes[shape] = call  # most recent last; the oldest shapes fall out
            while len(self._shapes) > MAX_SHAPES:
                del self._shapes[next(iter(self._shapes))]
        return None if decided is None else self._promise(decided)

    def taken(self, call: QueuedCall, agent_id: str, now: float) -> None:
        """The offer's Dial is on its way: the promised agent is reserved in the mirror, as
        the claim will reserve them in Redis."""
        self.promised.discard(agent_id)
        if self.mirror is None:
            return
        try:
            records = [apply(r, Reserve(call.call_id, call.queue), now) if r.agent_id == agent_id else r
                       for r in self.mirror[1]]
        except IllegalTransition:  # the mirror disagrees with the core: read Redis instead
            self.forget()
            return
        self.mirror = ([], records)
        if self._agents is not None:
            self._agents = tuple(replace(x, available=False, idle_since=now) if x.agent_id == agent_id else x
                                 for x in self._agents)

    def claim_finished(self, claimed: bool) -> None:
        """The Redis claim of a fast offer answered (False: the agent was not free after all)."""
        self.claims_in_flight -= 1
        if not claimed:
            self.forget()

    def prepare(self, now: float) -> None:
        """Work out, for the current mirror, the answer for a lone new call of each shape
        seen recently, so the next such call's fast offer is a dictionary look-up."""
        if self.mirror is None or self.mirror[0] or not self._shapes:
            return
        agents = self._agents_at(self.mirror[1], now)
        if self._ready_for is not agents:
            self._ready, self._ready_for = {}, agents
        for shape, call in self._shapes.items():
            if shape not in self._ready:
                self._ready[shape] = self._route_alone(replace(call, arrived_at=now, not_before=0.0), agents, now)

    # -- inside ---------------------------------------------------------------------------------
    def _route_alone(self, call: QueuedCall, agents: tuple[Agent, ...], now: float) -> Assignment | None:
        if self.promised:
            agents = tuple(a for a in agents if a.agent_id not in self.promised)
        queues = self._config.current.queues
        return next(iter(route(Snapshot(calls=(to_acd_call(call),), agents=agents, queues=queues), now)), None)

    def _promise(self, a: Assignment) -> Assignment:
        self.promised.add(a.agent_id)
        self.claims_in_flight += 1  # a step's read meanwhile may not show this offer's claim
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
        if self._agents is None or now >= self._agents_until:
            config = self._config.current
            self._agents = build_snapshot([], records, config.roster, config.queues, now).agents
            ends = [r.wrap_until for r in records
                    if r.state is AgentState.WRAP_UP and r.wrap_until is not None and r.wrap_until > now]
            self._agents_until = min(ends, default=float("inf"))
        return self._agents
