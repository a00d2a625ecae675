"""hotline.live.redis_state against the real Redis server (no Asterisk needed, so not marked).

Every test works under its own key prefix ``hl:unittest-live-<random>:`` and deletes its
keys afterwards.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import replace
from typing import AsyncIterator

import pytest
import redis as sync_redis
from redis.asyncio import Redis

from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall
from hotline.live.keys import LiveKeys
from hotline.live.redis_state import LiveState

URL = "redis://127.0.0.1:6379/0"
S = AgentState
NOW = 1_700_000_000.0


async def cleanup(client: Redis, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await client.delete(*keys)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    p = f"hl:unittest-live-{uuid.uuid4().hex[:10]}:"
    yield p
    client = Redis.from_url(URL, decode_responses=True)
    try:
        await cleanup(client, p)
        assert [k async for k in client.scan_iter(match=f"{p}*")] == []
    finally:
        await client.aclose()


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Redis, Redis]]:
    a = Redis.from_url(URL, decode_responses=True)
    b = Redis.from_url(URL, decode_responses=True)
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


@pytest.fixture
def live(clients: tuple[Redis, Redis], prefix: str) -> LiveState:
    return LiveState(clients[0], LiveKeys(prefix))


def call(call_id: str, **kw: object) -> QueuedCall:
    base: dict[str, object] = dict(call_id=call_id, owner="ctl-a", queue="main", arrived_at=NOW - 30)
    base.update(kw)
    return QueuedCall(**base)  # type: ignore[arg-type]


def free_agent(agent_id: str, since: float = NOW - 60) -> AgentRecord:
    return AgentRecord(agent_id=agent_id, state=S.AVAILABLE, since=since)


# -- calls -----------------------------------------------------------------------------

async def test_enqueue_waiting_and_requeue(live: LiveState) -> None:
    first = call("c1", arrived_at=NOW - 40.125, language="en", skills=frozenset({"education"}),
                 priority=2, caller="13800000001", extra={"callback": "0"})
    await live.enqueue(first)
    await live.enqueue(call("c2", arrived_at=NOW - 10))
    assert await live.waiting() == [first, call("c2", arrived_at=NOW - 10)]

    await live.put_agent(free_agent("1001"))
    assert await live.claim("c1", "1001", NOW) == 1
    assert [c.call_id for c in await live.waiting()] == ["c2"]
    offered = QueuedCall.from_hash(await live.redis.hgetall(live.call_key("c1")))
    assert (offered.state, offered.agent) == ("offered", "1001")

    await live.requeue("c1", "1001")  # ring-no-answer: back in line, not to the same agent
    await live.requeue("c1", "1002")
    back = {c.call_id: c for c in await live.waiting()}["c1"]
    assert back.arrived_at == NOW - 40.125  # keeps its place at the head of its line
    assert back.excluded == frozenset({"1001", "1002"})
    assert (back.state, back.agent, back.language, back.priority) == ("waiting", "", "en", 2)
    await live.requeue("c1", None)
    assert {c.call_id: c for c in await live.waiting()}["c1"].excluded == frozenset({"1001", "1002"})
    await live.requeue("gone", "1001")  # a call that no longer exists: nothing happens
    assert await live.redis.exists(live.call_key("gone")) == 0


async def test_waiting_skips_calls_in_other_states_and_remove(live: LiveState) -> None:
    await live.enqueue(call("c1"))
    await live.enqueue(call("c2"))
    await live.redis.hset(live.call_key("c2"), "state", "offered")
    assert [c.call_id for c in await live.waiting()] == ["c1"]
    await live.remove_call("c1")
    assert await live.redis.exists(live.call_key("c1")) == 0
    assert await live.redis.smembers(live.waiting_key) == {"c2"}


# -- claims ----------------------------------------------------------------------------

async def test_claim_results(live: LiveState) -> None:
    await live.enqueue(call("c1"))
    await live.enqueue(call("c2"))
    await live.put_agent(free_agent("1001"))
    await live.put_agent(free_agent("1002"))
    assert await live.claim("c1", "1001", NOW, "main") == 1
    agent = await live.agent("1001")
    assert agent is not None
    assert (agent.state, agent.call_id, agent.since, agent.queue, agent.wrap_until) == (
        S.RESERVED, "c1", NOW, "main", None)
    h = await live.redis.hgetall(live.call_key("c1"))
    assert (h["state"], h["agent"], float(h["offered_at"])) == ("offered", "1001", NOW)
    assert await live.claim("c2", "1001", NOW) == 0   # agent taken
    assert await live.claim("c1", "1002", NOW) == -1  # call taken
    assert await live.claim("nope", "1002", NOW) == -1
    assert await live.claim("c2", "9999", NOW) == 0   # no such agent
    assert (await live.agent("1002")).state is S.AVAILABLE  # type: ignore[union-attr]
    assert await live.redis.smembers(live.waiting_key) == {"c2"}


@pytest.mark.parametrize("record, expected", [
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW - 5, call_id="c0", queue="main"), 1),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW, call_id="c0"), 1),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW + 5, call_id="c0"), 0),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW - 5, call_id="c0", pause_reason="lunch"), 0),
    (AgentRecord("1001", S.PAUSED, NOW - 20, pause_reason="rona"), 0),
    (AgentRecord("1001", S.ON_CALL, NOW - 20, call_id="c0"), 0),
    (AgentRecord("1001", S.RINGING, NOW - 20, call_id="c0"), 0),
    (AgentRecord("1001", S.LOGGED_OUT, NOW - 20), 0),
])
async def test_claim_from_wrap_up_and_other_states(live: LiveState, record: AgentRecord, expected: int) -> None:
    await live.enqueue(call("c1"))
    await live.put_agent(record)
    assert await live.claim("c1", "1001", NOW) == expected
    after = await live.agent("1001")
    assert after is not None
    if expected == 1:
        assert (after.state, after.call_id, after.wrap_until) == (S.RESERVED, "c1", None)
        assert after.busy_seconds == record.busy_seconds and after.pause_reason is None
    else:
        assert after == record  # untouched
        assert (await live.waiting())[0].state == "waiting"


async def test_concurrent_claims_never_double_book(clients: tuple[Redis, Redis], prefix: str) -> None:
    """50 claim attempts (every pair of 10 calls x 5 agents), all at once, from two
    controllers' Redis clients: each agent ends with at most one call and each call with
    at most one agent, and the two hashes agree."""
    a, b = LiveState(clients[0], LiveKeys(prefix)), LiveState(clients[1], LiveKeys(prefix))
    calls = [f"c{i}" for i in range(10)]
    agents = [f"10{i:02d}" for i in range(5)]
    for i, c in enumerate(calls):
        await a.enqueue(call(c, arrived_at=NOW - 100 + i))
    for i, ag in enumerate(agents):
        await a.put_agent(free_agent(ag, since=NOW - 50 + i))
    pairs = [(c, ag) for c in calls for ag in agents]
    random.Random(7).shuffle(pairs)
    results = await asyncio.gather(*[
        (a if i % 2 else b).claim(c, ag, NOW) for i, (c, ag) in enumerate(pairs)])
    won = [pair for pair, r in zip(pairs, results) if r == 1]
    assert len(pairs) == 50 and set(results) <= {1, 0, -1}
    assert len(won) == 5  # one per agent: at least 5 calls stay waiting for every agent
    assert len({c for c, _ in won}) == 5 and len({ag for _, ag in won}) == 5
    for c, ag in won:
        agent_h = await a.redis.hgetall(a.agent_key(ag))
        call_h = await a.redis.hgetall(a.call_key(c))
        assert (agent_h["state"], agent_h["call_id"]) == ("reserved", c)
        assert (call_h["state"], call_h["agent"]) == ("offered", ag)
    offered = [c for c in calls if (await a.redis.hget(a.call_key(c), "state")) == "offered"]
    assert sorted(offered) == sorted(c for c, _ in won)
    assert await a.redis.smembers(a.waiting_key) == set(calls) - set(offered)


async def test_concurrent_claims_with_more_agents_than_calls(clients: tuple[Redis, Redis], prefix: str) -> None:
    a, b = LiveState(clients[0], LiveKeys(prefix)), LiveState(clients[1], LiveKeys(prefix))
    calls = [f"c{i}" for i in range(5)]
    agents = [f"20{i:02d}" for i in range(10)]
    for c in calls:
        await a.enqueue(call(c))
    for ag in agents:
        await a.put_agent(free_agent(ag))
    pairs = [(c, ag) for c in calls for ag in agents]
    results = await asyncio.gather(*[(a if i % 3 else b).claim(c, ag, NOW) for i, (c, ag) in enumerate(pairs)])
    won = [pair for pair, r in zip(pairs, results) if r == 1]
    assert len(won) == 5 and len({c for c, _ in won}) == 5 and len({ag for _, ag in won}) == 5
    reserved = [ag for ag in agents if (await a.redis.hget(a.agent_key(ag), "state")) == "reserved"]
    assert sorted(reserved) == sorted(ag for _, ag in won)
    assert await a.redis.smembers(a.waiting_key) == set()


# -- leadership ------------------------------------------------------------------------

async def test_try_lead_one_leader_until_ttl_expires(clients: tuple[Redis, Redis], prefix: str) -> None:
    a, b = LiveState(clients[0], LiveKeys(prefix)), LiveState(clients[1], LiveKeys(prefix))
    first, second = await asyncio.gather(a.try_lead("ctl-a", 300), b.try_lead("ctl-b", 300))
    assert first != second  # exactly one leads
    leader, other = (a, b) if first else (b, a)
    leader_id, other_id = ("ctl-a", "ctl-b") if first else ("ctl-b", "ctl-a")
    assert await leader.try_lead(leader_id, 300) is True  # renewing
    assert await other.try_lead(other_id, 300) is False
    assert await a.redis.get(f"{prefix}leader") == leader_id
    assert 0 < await a.redis.pttl(f"{prefix}leader") <= 300
    deadline = time.monotonic() + 3
    while await a.redis.exists(f"{prefix}leader") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await other.try_lead(other_id, 300) is True  # the lock expired: the other takes over
    assert await leader.try_lead(leader_id, 300) is False


# -- agents ----------------------------------------------------------------------------

async def test_put_agent_and_agents(live: LiveState) -> None:
    rec = AgentRecord("1001", S.WRAP_UP, NOW - 3.5, misses=1, pause_reason="lunch", wrap_until=NOW + 11.5,
                      call_id="c1", calls_taken=7, busy_seconds=812.25, queue="main")
    await live.put_agent(rec)
    await live.put_agent(free_agent("1002"))
    assert await live.agent("1001") == rec
    assert await live.agent("nobody") is None
    await live.put_agent(free_agent("1001"))  # replaces every field, none left over
    assert await live.agent("1001") == free_agent("1001")
    assert [r.agent_id for r in await live.agents()] == ["1001", "1002"]


async def test_update_agent_under_contention(clients: tuple[Redis, Redis], prefix: str) -> None:
    a, b = LiveState(clients[0], LiveKeys(prefix)), LiveState(clients[1], LiveKeys(prefix))
    await a.put_agent(free_agent("1001"))
    attempts = 0

    def bump(rec: AgentRecord) -> AgentRecord:
        nonlocal attempts
        attempts += 1
        return replace(rec, calls_taken=rec.calls_taken + 1)

    async def hundred(live: LiveState) -> None:
        for _ in range(100):
            await live.update_agent("1001", bump)

    await asyncio.gather(hundred(a), hundred(b))
    final = await a.agent("1001")
    assert final is not None and final.calls_taken == 200
    assert attempts >= 200


async def test_update_agent_retries_after_a_concurrent_write(live: LiveState) -> None:
    """Force the race: another client changes the record between WATCH and EXEC. The
    update must retry on the fresh record, not overwrite the other write."""
    await live.put_agent(free_agent("1001"))
    other = sync_redis.Redis.from_url(URL, decode_responses=True)
    seen: list[int] = []

    def bump(rec: AgentRecord) -> AgentRecord:
        seen.append(rec.calls_taken)
        if len(seen) == 1:
            other.hset(live.agent_key("1001"), "calls_taken", "41")
        return replace(rec, calls_taken=rec.calls_taken + 1)

    try:
        result = await live.update_agent("1001", bump)
    finally:
        other.close()
    assert seen == [0, 41]
    assert result.calls_taken == 42
    assert (await live.agent("1001")).calls_taken == 42  # type: ignore[union-attr]


async def test_update_agent_without_record(live: LiveState) -> None:
    with pytest.raises(KeyError, match="1001"):
        await live.update_agent("1001", lambda r: r)
    assert await live.redis.exists(live.agent_key("1001")) == 0


async def test_flags(live: LiveState) -> None:
    await live.set_flag("emergency", "flood")
    assert await live.flags() == {"emergency": "flood"}
    await live.set_flag("emergency", None)
    assert await live.flags() == {}


async def test_log_in_paused_is_never_claimable(live: LiveState) -> None:
    """Log-in and pause are one atomic update: no window in which the router could ring."""
    from hotline.live.agent_service import AgentService

    desk = AgentService(live, lambda: NOW)
    await live.enqueue(QueuedCall("c1", "me", "main", NOW - 1))
    record = await desk.log_in("1001", paused="training")
    assert (record.state, record.pause_reason) == (S.PAUSED, "training")
    assert await live.claim("c1", "1001", NOW) == 0
    await desk.unpause("1001")
    assert await live.claim("c1", "1001", NOW) == 1


async def test_enqueue_and_read_returns_the_routing_input_with_the_new_call(live: LiveState) -> None:
    await live.put_agent(AgentRecord("1001", S.AVAILABLE, since=NOW - 5))
    await live.enqueue(QueuedCall("older", "me", "main", NOW - 9))
    calls, agents = await live.enqueue_and_read(QueuedCall("new", "me", "main", NOW, language="en",
                                                           skills=frozenset({"traffic"}), caller="138"))
    assert sorted(c.call_id for c in calls) == ["new", "older"]
    new = next(c for c in calls if c.call_id == "new")
    assert (new.language, new.skills, new.caller, new.arrived_at) == ("en", frozenset({"traffic"}), "138", NOW)
    assert [a.agent_id for a in agents] == ["1001"]
    assert (await live.call("new")) == new and "new" in await live.redis.smembers(live.waiting_key)


async def test_a_callback_retry_goes_back_in_line_at_its_old_place_not_before_its_time(live: LiveState) -> None:
    await live.put_agent(AgentRecord("1001", S.AVAILABLE, since=NOW - 5))
    await live.enqueue(QueuedCall("cb", "me", "main", NOW - 400, caller="138"))
    await live.make_callback("cb", "me")
    assert await live.claim("cb", "1001", NOW) == 1
    served = await live.call("cb")
    await live.remove_call("cb")  # the callback session took it
    await live.retry_callback(served, attempts=1, not_before=NOW + 300)
    again = await live.call("cb")
    assert again is not None and "cb" in await live.redis.smembers(live.waiting_key)
    assert (again.state, again.agent, again.callback, again.attempts, again.not_before, again.arrived_at) == (
        "waiting", "", True, 1, NOW + 300, NOW - 400)
    calls, _ = await live.routing_input()
    assert [c.call_id for c in calls] == ["cb"]
