"""hotline.api.live_desk.LiveAgentDesk: the API's AgentDesk port over the real AgentService
and the in-memory live state (the same contract as Redis, tests/contract/test_live_contract.py),
driven through the HTTP API as a desk would."""
from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from agents.state import AgentRecord, AgentState
from hotline.api.app import make_app
from hotline.api.live_desk import LiveAgentDesk
from hotline.api.ports import IllegalOperation, NotFound, Unavailable
from hotline.live.agent_service import AgentService
from tests.contract.fake_live import InMemoryLiveState
from tests.fakes_api import ROSTER, World, bearer, client, log_in


@pytest.fixture
def desk() -> LiveAgentDesk:
    live = InMemoryLiveState(lambda: 1000.0)
    return LiveAgentDesk(AgentService(live, lambda: 1000.0), live, lambda: ROSTER)  # type: ignore[arg-type]


async def test_a_shift_through_the_real_agent_service(desk: LiveAgentDesk) -> None:
    assert (await desk.state("1001")).state is AgentState.LOGGED_OUT  # no live record yet: logged out
    with pytest.raises(IllegalOperation, match="log in first"):
        await desk.ready("1001")
    assert (await desk.log_in("1001")).state is AgentState.AVAILABLE
    assert (await desk.ready("1001")).state is AgentState.AVAILABLE  # ready when ready: nothing to do
    paused = await desk.pause("1001", "meal")
    assert (paused.state, paused.pause_reason) == (AgentState.PAUSED, "meal")
    assert (await desk.ready("1001")).state is AgentState.AVAILABLE
    assert (await desk.log_out("1001")).state is AgentState.LOGGED_OUT
    assert [r.agent_id for r in await desk.states()] == list(ROSTER)
    assert await desk.ping()


async def test_what_the_state_forbids_is_an_illegal_operation_and_force_always_works(desk: LiveAgentDesk) -> None:
    await desk.live.put_agent(AgentRecord("1002", AgentState.ON_CALL, since=1000.0, call_id="c1"))
    with pytest.raises(IllegalOperation, match="cannot log out while on_call"):
        await desk.log_out("1002")
    forced = await desk.force_log_out("1002", "phone dead")
    assert forced.state is AgentState.LOGGED_OUT and forced.call_id is None
    with pytest.raises(NotFound):
        await desk.state("9999")
    with pytest.raises(NotFound):
        await desk.log_in("9999")


class DownLive:
    """A live state whose Redis is gone."""

    async def agent(self, *_args: Any) -> Any:
        raise RedisConnectionError("connection refused")

    agents = flags = agent


async def test_a_lost_redis_is_unavailable() -> None:
    live = DownLive()
    desk = LiveAgentDesk(AgentService(live, lambda: 1.0), live, lambda: ROSTER)  # type: ignore[arg-type]
    with pytest.raises(Unavailable):
        await desk.state("1001")
    with pytest.raises(Unavailable):
        await desk.states()
    assert not await desk.ping()


async def test_the_api_over_the_live_desk(desk: LiveAgentDesk) -> None:
    world = World(agents=desk)  # type: ignore[arg-type]
    world.add_user("alice", "agent", agent_id="1001")
    async with client(make_app(world.deps())) as http:
        me = bearer(await log_in(http, "alice"))
        assert (await http.post("/api/v1/agents/1001/login", json={"paused": "training"}, headers=me)
                ).json()["state"] == "paused"
        answer = await http.post("/api/v1/agents/1001/logout", headers=me)
        assert answer.status_code == 200 and answer.json()["state"] == "logged_out"
        answer = await http.post("/api/v1/agents/1001/pause", json={"reason": "break"}, headers=me)
        assert answer.status_code == 409 and answer.json()["error"] == "illegal_in_state"
        assert (await http.get("/api/v1/health")).json()["redis"] is True


async def test_ready_now_ends_the_wrap_up_only_once_the_work_order_is_saved_and_the_queue_allows_it() -> None:
    from acd import QueuePolicy

    live = InMemoryLiveState(lambda: 1000.0)
    filed: set[str] = set()

    async def order_filed(call_id: str) -> bool:
        return call_id in filed

    policies = {"main": QueuePolicy("main", wrapup_seconds=20),
                "fixed": QueuePolicy("fixed", wrapup_seconds=20, wrapup_may_end_early=False),
                "free": QueuePolicy("free", wrapup_seconds=20, work_order_required=False)}
    desk = LiveAgentDesk(AgentService(live, lambda: 1000.0), live, lambda: ROSTER,  # type: ignore[arg-type]
                         policy_of=policies.get, order_filed=order_filed)
    for agent, queue in (("1001", "main"), ("1002", "fixed"), ("1003", "free")):
        await live.put_agent(AgentRecord(agent, AgentState.WRAP_UP, since=995.0, call_id=f"c-{agent}", queue=queue,
                                         wrap_until=1015.0, busy_seconds=40.0, pause_reason="meal"))
    with pytest.raises(IllegalOperation) as missing:
        await desk.ready("1001")
    assert missing.value.error_id == "work_order_required"
    filed.add("c-1001")
    ready = await desk.ready("1001")
    assert (ready.state, ready.pause_reason, ready.busy_seconds) == (AgentState.AVAILABLE, None, 25.0)  # 15 s unused
    with pytest.raises(IllegalOperation) as fixed:
        await desk.ready("1002")
    assert fixed.value.error_id == "wrap_up_fixed"
    assert (await desk.ready("1003")).state is AgentState.AVAILABLE  # no order needed on that line
