"""The leader's sweep against Asterisk's channels: no agent stays bound to a call that is
gone (a controller killed mid-call left agents on_call for ever; issue 13). In-memory live
state, a clock the test moves, the channel list the AMI client would return."""
from __future__ import annotations

from acd import QueuePolicy
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from hotline.config import ConfigHolder, HotlineConfig
from hotline.live.agent_service import AgentService
from hotline.routing.router import GONE_AFTER, RouterService
from hotline.tasks import TaskOwner
from tests.contract.fake_live import InMemoryLiveState

NOW = 1_800_000_000.0


class World:
    def __init__(self) -> None:
        self.now = NOW
        self.phones: set[str] = set()
        self.asterisk_up = True
        self.live = InMemoryLiveState(lambda: self.now)
        roster = {a: RosterAgent(a, a, frozenset({"zh"}), ()) for a in ("2001", "2002", "2003")}
        config = ConfigHolder(HotlineConfig(roster, {"main": QueuePolicy("main", wrapup_seconds=7)}, {}, None))  # type: ignore[arg-type]
        self.agents = AgentService(self.live, lambda: self.now)
        self.router = RouterService("me", lambda: self.now, self.live, config, self.agents, TaskOwner("t"),
                                    lambda *a: None, channels=self.channels)

    async def channels(self) -> set[str]:
        if not self.asterisk_up:
            raise ConnectionError("AMI not connected")
        return self.phones

    async def put(self, agent_id: str, state: AgentState, since_ago: float = 30.0) -> None:
        bound = state in (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL)
        await self.live.put_agent(AgentRecord(agent_id, state, since=self.now - since_ago,
                                              call_id="gone" if bound else None, queue="main" if bound else None))

    async def state(self, agent_id: str) -> AgentState:
        record = await self.live.agent(agent_id)
        assert record is not None
        return record.state


async def test_an_agent_on_a_call_whose_channel_is_gone_goes_to_wrap_up() -> None:
    w = World()
    await w.put("2001", AgentState.ON_CALL)       # the controller that held the call died
    await w.put("2002", AgentState.ON_CALL)       # a live conversation
    await w.put("2003", AgentState.RINGING)       # a ring whose leg vanished
    w.phones = {"PJSIP/2002-00000011"}
    await w.router.sweep(w.now)
    assert await w.state("2001") is AgentState.ON_CALL  # not on the first look: could be a blip
    w.now += GONE_AFTER
    await w.router.sweep(w.now)
    assert await w.state("2001") is AgentState.WRAP_UP
    record = await w.live.agent("2001")
    assert record is not None and record.wrap_until == w.now + 7  # the call's queue's wrap-up
    assert await w.state("2002") is AgentState.ON_CALL
    assert await w.state("2003") is AgentState.AVAILABLE


async def test_a_channel_that_comes_back_resets_the_count_and_a_new_binding_gets_its_grace() -> None:
    w = World()
    await w.put("2001", AgentState.ON_CALL)
    await w.router.sweep(w.now)
    w.phones = {"PJSIP/2001-00000001"}
    w.now += GONE_AFTER
    await w.router.sweep(w.now)
    w.phones = set()
    w.now += 1
    await w.router.sweep(w.now)
    assert await w.state("2001") is AgentState.ON_CALL  # missing for 1 s only
    await w.put("2002", AgentState.RESERVED, since_ago=0.5)  # a claim whose Dial is on its way
    w.now += GONE_AFTER
    await w.router.sweep(w.now)
    assert await w.state("2001") is AgentState.WRAP_UP
    assert await w.state("2002") is AgentState.RESERVED  # first seen without a channel just now


async def test_nothing_is_decided_while_asterisk_cannot_be_asked() -> None:
    w = World()
    await w.put("2001", AgentState.ON_CALL)
    w.asterisk_up = False
    for _ in range(3):
        await w.router.sweep(w.now)
        w.now += GONE_AFTER
    assert await w.state("2001") is AgentState.ON_CALL


async def test_an_emptied_redis_gets_its_agents_back_from_the_roster_and_asterisk() -> None:
    from hotline.live.reseed import reseed_agents

    w = World()
    roster = [RosterAgent("2001", "a", frozenset({"zh"}), ()),
              RosterAgent("2002", "b", frozenset({"zh"}), (), login=True),
              RosterAgent("2003", "c", frozenset({"zh"}), ())]
    w.phones = {"PJSIP/2001-0000000f"}  # 2001 is talking
    done = await reseed_agents(w.live, roster, w.agents, w.channels, w.now)
    assert (done.on_call, done.logged_in, done.logged_out) == (("2001",), ("2002",), ("2003",))
    assert [await w.state(a) for a in ("2001", "2002", "2003")] == [
        AgentState.ON_CALL, AgentState.AVAILABLE, AgentState.LOGGED_OUT]
    again = await reseed_agents(w.live, roster, w.agents, w.channels, w.now)
    assert again.count == 0  # Redis that kept its data: nothing rebuilt
    w.phones = set()  # the talk ends: the sweep sends 2001 to wrap-up
    await w.router.sweep(w.now)
    w.now += GONE_AFTER
    await w.router.sweep(w.now)
    assert await w.state("2001") is AgentState.WRAP_UP


async def test_an_operator_forces_an_agent_out_of_a_call_with_a_reason(caplog) -> None:  # type: ignore[no-untyped-def]
    w = World()
    await w.put("2001", AgentState.ON_CALL)
    forced = await w.agents.force_log_out("2001", "call gone after a crash")
    assert forced is not None and forced.state is AgentState.LOGGED_OUT and forced.call_id is None
    assert "agent 2001 forced out of on_call (call gone): call gone after a crash" in caplog.text
    assert any(p.channel == w.live.changed_channel for p in w.live.published)  # routers hear of it


async def test_an_answer_heard_before_the_ring_leaves_the_agent_on_the_call() -> None:
    w = World()
    await w.put("2001", AgentState.RESERVED, since_ago=0.1)
    await w.agents.answered("2001")  # AMI's DialEnd ANSWER, handled first
    await w.agents.ringing("2001", "gone")  # the session's late "ringing"
    assert await w.state("2001") is AgentState.ON_CALL


async def test_an_emptied_redis_gets_the_agents_back_as_the_leader_last_saw_them() -> None:
    from hotline.live.reseed import reseed_agents

    w = World()
    roster = [RosterAgent(a, a, frozenset({"zh"}), ()) for a in ("2001", "2002", "2003")]
    last_seen = {"2001": AgentRecord("2001", AgentState.AVAILABLE, since=NOW - 50),
                 "2002": AgentRecord("2002", AgentState.PAUSED, since=NOW - 50, pause_reason="lunch"),
                 "2003": AgentRecord("2003", AgentState.LOGGED_OUT, since=NOW - 50)}
    done = await reseed_agents(w.live, roster, w.agents, w.channels, w.now, last_seen=last_seen)
    assert (done.logged_in, done.logged_out) == (("2001", "2002"), ("2003",))
    assert [await w.state(a) for a in ("2001", "2002", "2003")] == [
        AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT]
    assert (await w.live.agent("2002")).pause_reason == "lunch"  # type: ignore[union-attr]


async def test_a_logged_out_agent_whose_phone_the_fallback_queue_rings_stays_logged_out() -> None:
    """During the outage app_queue rang every seat; a channel of a seat the leader last saw
    logged out is a ring, not a shift: Redis back empty rebuilds it logged out."""
    from hotline.live.reseed import reseed_agents

    w = World()
    roster = [RosterAgent(a, a, frozenset({"zh"}), ()) for a in ("2001", "2002")]
    last_seen = {"2001": AgentRecord("2001", AgentState.LOGGED_OUT, since=NOW - 50),
                 "2002": AgentRecord("2002", AgentState.AVAILABLE, since=NOW - 50)}
    w.phones = {"PJSIP/2001-00000010", "PJSIP/2002-00000011"}
    done = await reseed_agents(w.live, roster, w.agents, w.channels, w.now, last_seen=last_seen)
    assert (done.on_call, done.logged_out) == (("2002",), ("2001",))
