"""The router's sweep after a controller dies, and routing steps, against real Redis."""
from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import AsyncIterator

import pytest
from redis.asyncio import Redis

from agents.roster import load_roster
from agents.state import AgentRecord, AgentState
from hotline.agent_desk import AgentDesk
from hotline.live_state import LiveState, QueuedCall
from hotline.router_service import STUCK_AFTER, RouterService
from hotline.settings import PROJECT_ROOT
from queues.config import load_queues

URL = "redis://127.0.0.1:6379/0"
NOW = 1_800_000_000.0


@pytest.fixture
async def router() -> AsyncIterator[RouterService]:
    client = Redis.from_url(URL, decode_responses=True)
    prefix = f"hl:unittest-sweep-{uuid.uuid4().hex[:8]}:"
    live = LiveState(client, prefix)
    clock = lambda: NOW  # noqa: E731
    roster = {a.agent_id: a for a in load_roster(PROJECT_ROOT / "agents" / "roster.yaml")}
    delivered: list[tuple[str, str, int]] = []
    sv = SimpleNamespace(live=live, controller_id="me", clock=clock, desk=AgentDesk(live, clock),
                         roster=roster, queues=load_queues(Path(PROJECT_ROOT / "queues" / "queues.yaml")),
                         deliver=lambda *a: delivered.append(a), delivered=delivered)
    await live.heartbeat("me", 5000)
    try:
        yield RouterService(sv)  # type: ignore[arg-type]
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_sweep_drops_dead_controllers_calls_and_adopts_their_callbacks(router: RouterService) -> None:
    live = router.sv.live
    await live.enqueue(QueuedCall("mine", "me", "main", NOW - 5))
    await live.enqueue(QueuedCall("orphan", "dead", "main", NOW - 5))
    await live.enqueue(QueuedCall("cb", "dead", "main", NOW - 50, callback=True))
    await router.sweep(NOW)
    left = {c.call_id: c.owner for c in await live.waiting()}
    assert left == {"mine": "me", "cb": "me"}


async def test_sweep_frees_an_agent_stuck_for_a_vanished_call(router: RouterService) -> None:
    live = router.sv.live
    stuck = AgentRecord("1001", AgentState.RESERVED, since=NOW - STUCK_AFTER - 1, call_id="gone")
    recent = AgentRecord("1002", AgentState.RINGING, since=NOW - 1, call_id="gone")
    await live.put_agent(stuck)
    await live.put_agent(recent)
    await router.sweep(NOW)
    assert (await live.agent("1001")).state is AgentState.AVAILABLE
    assert (await live.agent("1002")).state is AgentState.RINGING  # may still be a live offer


async def test_step_assigns_only_to_an_agent_speaking_the_language(router: RouterService) -> None:
    live = router.sv.live
    for agent_id in ("1001", "1003"):  # 1001 speaks zh only, 1003 zh and en
        await live.put_agent(AgentRecord(agent_id, AgentState.AVAILABLE, since=NOW - (60 if agent_id == "1001" else 1)))
    await live.enqueue(QueuedCall("en-call", "me", "main", NOW - 1, language="en"))
    assert await router.step() == 1
    assert (await live.agent("1003")).call_id == "en-call"
    assert router.sv.delivered == [("en-call", "1003", 0)]  # our own call: handed over in-process
    assert (await live.agent("1001")).state is AgentState.AVAILABLE
    assert await router.step() == 0  # nothing left to assign, nothing assigned twice
