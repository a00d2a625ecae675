"""RouterService.fast_offer: the leader's decision for a new call from its mirror, no I/O."""
from __future__ import annotations

from types import SimpleNamespace

from acd import QueuePolicy
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from hotline.live_state import QueuedCall
from hotline.router_service import RouterService

NOW = 1000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def leader(records: list[AgentRecord], clock: Clock) -> RouterService:
    roster = {r.agent_id: RosterAgent(r.agent_id, r.agent_id, frozenset({"zh"}), ()) for r in records}
    router = RouterService(SimpleNamespace(clock=clock, roster=roster, queues={"main": QueuePolicy("main")}))
    router.is_leader, router._lease_renewed = True, clock.now
    router._mirror = ([], records)  # what a step that found nobody waiting leaves behind
    return router


def call(call_id: str) -> QueuedCall:
    return QueuedCall(call_id, "me", "main", NOW)


def test_an_agent_whose_wrap_up_ends_becomes_eligible_at_that_moment() -> None:
    clock = Clock()
    router = leader([AgentRecord("1001", AgentState.WRAP_UP, since=NOW - 10, wrap_until=NOW + 5)], clock)
    assert router.fast_offer(call("c1")) is None
    clock.now = NOW + 4.999
    router._lease_renewed = clock.now
    assert router.fast_offer(call("c1")) is None
    clock.now = NOW + 5
    router._lease_renewed = clock.now
    assert router.fast_offer(call("c1")).agent_id == "1001"


def test_each_offer_takes_its_agent_out_of_the_mirror() -> None:
    clock = Clock()
    records = [AgentRecord(a, AgentState.AVAILABLE, since=NOW - idle) for a, idle in (("1001", 30), ("1002", 20))]
    router = leader(records, clock)
    assert [router.fast_offer(call(c)).agent_id for c in ("c1", "c2")] == ["1001", "1002"]
    assert router.fast_offer(call("c3")) is None
    assert {r.agent_id: (r.state, r.call_id) for r in router._mirror[1]} == {
        "1001": (AgentState.RESERVED, "c1"), "1002": (AgentState.RESERVED, "c2")}


def test_only_a_fresh_leader_offers_fast() -> None:
    clock = Clock()
    router = leader([AgentRecord("1001", AgentState.AVAILABLE, since=NOW - 30)], clock)
    clock.now = NOW + 1  # the lease was last renewed a second ago: maybe no longer ours
    assert router.fast_offer(call("c1")) is None
    router.is_leader = False
    router._lease_renewed = clock.now
    assert router.fast_offer(call("c1")) is None
