"""The router's sweep after a controller dies, and routing steps, against real Redis."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest
from redis.asyncio import Redis

from agents.roster import load_roster
from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall
from hotline.config import ConfigHolder, HotlineConfig
from hotline.live.agent_service import AgentService
from hotline.live.keys import LiveKeys
from hotline.live.redis_state import LiveState
from hotline.routing.router import STUCK_AFTER, RouterService
from hotline.settings import PROJECT_ROOT
from hotline.tasks import TaskOwner
from queues.config import load_queues

URL = "redis://127.0.0.1:6379/0"
NOW = 1_800_000_000.0


class Delivered(list):
    """The router's ``deliver``: assignments handed to our own sessions, kept for the test."""

    def __call__(self, call_id: str, agent_id: str, relax_step: int) -> None:
        self.append((call_id, agent_id, relax_step))


@pytest.fixture
async def router() -> AsyncIterator[RouterService]:
    client = Redis.from_url(URL, decode_responses=True)
    prefix = f"hl:unittest-sweep-{uuid.uuid4().hex[:8]}:"
    live = LiveState(client, LiveKeys(prefix))
    clock = lambda: NOW  # noqa: E731
    roster = {a.agent_id: a for a in load_roster(PROJECT_ROOT / "agents" / "roster.yaml")}
    config = ConfigHolder(HotlineConfig(roster, load_queues(Path(PROJECT_ROOT / "queues" / "queues.yaml")), {},
                                        None))  # type: ignore[arg-type]
    await live.heartbeat("me", 5000)
    try:
        yield RouterService("me", clock, live, config, AgentService(live, clock), TaskOwner("test"), Delivered())
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_sweep_drops_dead_controllers_calls_and_adopts_their_callbacks(router: RouterService) -> None:
    live = router.live
    await live.enqueue(QueuedCall("mine", "me", "main", NOW - 5))
    await live.enqueue(QueuedCall("orphan", "dead", "main", NOW - 5))
    await live.enqueue(QueuedCall("cb", "dead", "main", NOW - 50, callback=True))
    await router.sweep(NOW)
    left = {c.call_id: c.owner for c in await live.waiting()}
    assert left == {"mine": "me", "cb": "me"}


async def test_sweep_frees_an_agent_stuck_for_a_vanished_call(router: RouterService) -> None:
    live = router.live
    stuck = AgentRecord("1001", AgentState.RESERVED, since=NOW - STUCK_AFTER - 1, call_id="gone")
    recent = AgentRecord("1002", AgentState.RINGING, since=NOW - 1, call_id="gone")
    await live.put_agent(stuck)
    await live.put_agent(recent)
    await router.sweep(NOW)
    assert (await live.agent("1001")).state is AgentState.AVAILABLE
    assert (await live.agent("1002")).state is AgentState.RINGING  # may still be a live offer


async def test_step_assigns_only_to_an_agent_speaking_the_language(router: RouterService) -> None:
    live = router.live
    for agent_id in ("1001", "1003"):  # 1001 speaks zh only, 1003 zh and en
        await live.put_agent(AgentRecord(agent_id, AgentState.AVAILABLE, since=NOW - (60 if agent_id == "1001" else 1)))
    await live.enqueue(QueuedCall("en-call", "me", "main", NOW - 1, language="en"))
    assert await router.step() == 1
    assert (await live.agent("1003")).call_id == "en-call"
    assert router.deliver == [("en-call", "1003", 0)]  # our own call: handed over in-process
    assert (await live.agent("1001")).state is AgentState.AVAILABLE
    assert await router.step() == 0  # nothing left to assign, nothing assigned twice


async def _idle(live: LiveState, *agents: tuple[str, float]) -> None:
    for agent_id, idle_for in agents:
        await live.put_agent(AgentRecord(agent_id, AgentState.AVAILABLE, since=NOW - idle_for))


async def test_fast_offer_decides_like_a_step_and_never_offers_one_agent_twice(router: RouterService) -> None:
    live = router.live
    await _idle(live, ("1001", 60), ("1002", 30))
    first, second = QueuedCall("c1", "me", "main", NOW), QueuedCall("c2", "me", "main", NOW)
    assert router.fast_offer(first) is None  # no step has read the live state yet
    assert await router.step() == 0  # nobody waits: the step only reads
    offer = router.fast_offer(first)
    assert (offer.call_id, offer.agent_id) == ("c1", "1001")  # longest idle, as route() decides
    assert router.fast_offer(second).agent_id == "1002"  # 1001 is taken in the mirror
    assert router.fast_offer(QueuedCall("c3", "me", "main", NOW)) is None  # nobody left
    assert await router.confirm(first, "1001") and await router.confirm(second, "1002")
    assert [(await live.agent(a)).call_id for a in ("1001", "1002")] == ["c1", "c2"]
    assert (await live.call("c1")).state == "offered" and await live.waiting() == []


async def test_no_fast_offer_while_others_wait_or_after_a_change(router: RouterService) -> None:
    live = router.live
    await _idle(live, ("1001", 60))
    await router.step()
    router.forget()  # a "changed" message: the mirror is stale
    assert router.fast_offer(QueuedCall("c1", "me", "main", NOW)) is None
    await live.enqueue(QueuedCall("en", "me", "main", NOW - 3, language="en"))  # nobody speaks en
    assert await router.step() == 0
    assert router.fast_offer(QueuedCall("c2", "me", "main", NOW)) is None  # a call waits: full step


async def test_a_fast_offer_whose_agent_was_taken_meanwhile_leaves_the_call_waiting(router: RouterService) -> None:
    live = router.live
    await _idle(live, ("1001", 60))
    await router.step()
    await router.agents.pause("1001", "break")  # written to Redis; the router has not heard yet
    call = QueuedCall("c1", "me", "main", NOW)
    assert router.fast_offer(call).agent_id == "1001"
    assert await router.confirm(call, "1001") is False
    assert (await live.agent("1001")).state is AgentState.PAUSED
    assert [c.call_id for c in await live.waiting()] == ["c1"]  # in line like any call
    assert router.fast_offer(QueuedCall("c2", "me", "main", NOW)) is None  # mirror dropped
