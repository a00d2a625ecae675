"""What only the in-memory live state has: subscriptions, a virtual clock, the adapter's
task switches, and the shell's code running on it unchanged."""
from __future__ import annotations

import asyncio

from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall
from hotline.live.agent_service import AgentService
from tests.contract.conftest import ManualClock
from tests.contract.fake_live import InMemoryLiveState, Published

NOW = 1_700_000_000.0


async def test_subscribers_get_redis_shaped_messages_of_their_channels() -> None:
    live = InMemoryLiveState()
    with live.subscribe(live.changed_channel, live.owner_channel("ctl-a")) as mine:
        await live.notify_changed()
        await live.stop_ringing("1001")  # control: not subscribed
        await live.publish_assignment("ctl-b", "c9", "1009")  # another controller's
        await live.publish_assignment("ctl-a", "c1", "1001", 1)
        assert mine.pending() == [
            {"type": "message", "pattern": None, "channel": "changed", "data": "1"},
            {"type": "message", "pattern": None, "channel": "owner:ctl-a",
             "data": '{"call_id": "c1", "agent_id": "1001", "relax_step": 1}'}]
    await live.notify_changed()  # closed: no longer delivered, still recorded
    assert mine.pending() == [] and len(live.published) == 5
    assert live.published[1] == Published("control", "stop-ring 1001")


async def test_listen_waits_for_the_next_message() -> None:
    live = InMemoryLiveState()
    with live.subscribe(live.control_channel) as sub:
        first = asyncio.ensure_future(anext(sub.listen()))
        await asyncio.sleep(0)
        assert not first.done()
        await live.stop_ringing("1001")
        assert (await asyncio.wait_for(first, 1))["data"] == "stop-ring 1001"


async def test_a_lease_lives_while_no_more_than_its_ttl_has_passed() -> None:
    clock = ManualClock(100.0)
    live = InMemoryLiveState(clock)
    assert await live.try_lead("ctl-a", 250)
    clock.advance(0.25)
    assert not await live.try_lead("ctl-b", 250)  # exactly at the ttl: still held, as in Redis
    clock.advance(1e-9)
    assert await live.try_lead("ctl-b", 250)


async def test_each_operation_lets_other_tasks_run_as_a_round_trip_does() -> None:
    live = InMemoryLiveState()
    ran: list[str] = []

    async def note(name: str) -> None:
        ran.append(name)

    for name, operation in [("flags", live.flags()), ("claim", live.claim("c1", "1001", NOW)),
                            ("requeue", live.requeue("c1", None))]:
        other = asyncio.ensure_future(note(name))
        await operation
        assert ran[-1:] == [name]  # the other task ran while the operation waited
        await other


async def test_two_requeues_at_once_keep_both_exclusions() -> None:
    """``requeue`` is one step (a Lua script in Redis): two at once lose nothing (two round
    trips lost one exclusion every time, found by this suite)."""
    live = InMemoryLiveState()
    await live.enqueue(QueuedCall("c1", "ctl-a", "main", NOW))
    await asyncio.gather(live.requeue("c1", "1001"), live.requeue("c1", "1002"))
    assert (await live.call("c1")).excluded == {"1001", "1002"}  # type: ignore[union-attr]


async def test_the_agent_desk_runs_on_it() -> None:
    """Log-in-and-pause is one update: the router can never claim the agent in between."""
    live = InMemoryLiveState()
    desk = AgentService(live, lambda: NOW)  # type: ignore[arg-type]  # typed LiveState until ports land
    await live.enqueue(QueuedCall("c1", "ctl-a", "main", NOW - 1))
    record = await desk.log_in("1001", paused="training")
    assert record == AgentRecord("1001", AgentState.PAUSED, NOW, pause_reason="training")
    assert await live.claim("c1", "1001", NOW) == 0
    await desk.unpause("1001")
    assert await live.claim("c1", "1001", NOW) == 1
    assert [m.channel for m in live.published] == ["changed", "changed"]
