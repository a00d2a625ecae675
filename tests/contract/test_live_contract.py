"""One behaviour suite for both live stores: ``LiveState`` on Redis and ``InMemoryLiveState``.

Each test takes ``backend`` and so runs twice (``[memory]``, ``[redis]``; conftest marks every
run that uses Redis ``redis``, so ``-m "not redis"`` needs no server). A test asserts the
whole observable result of a step: return value, records, the waiting line and what was
published. Then the port's signatures, and the property the issue asks for: the Lua free
rule of the claim scripts equals ``agents.state.is_available``.
"""
from __future__ import annotations

import asyncio
import inspect
import random
import uuid
from dataclasses import replace
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from agents.state import (
    AgentRecord,
    AgentState,
    Answer,
    IllegalTransition,
    Ring,
    apply,
    is_available,
)
from calls.model import QueuedCall
from hotline.live.keys import LiveKeys
from hotline.live.redis_state import LiveState, parse_assignment
from tests.contract.conftest import Backend, RedisBackend
from tests.contract.fake_live import InMemoryLiveState
from tests.contract.live_port import LiveStore

S = AgentState
NOW = 1_700_000_000.0
TTL = 300  # ms: leases and heartbeats; the Redis runs really wait for them
CHANGED = ("changed", "1")


def call(call_id: str, **kw: Any) -> QueuedCall:
    return QueuedCall(**{"call_id": call_id, "owner": "ctl-a", "queue": "main", "arrived_at": NOW - 30, **kw})


def free_agent(agent_id: str, since: float = NOW - 60) -> AgentRecord:
    return AgentRecord(agent_id, S.AVAILABLE, since)


async def given_state(live: LiveStore, calls: list[QueuedCall], agents: list[AgentRecord]) -> None:
    for c in calls:
        await live.enqueue(c)
    for a in agents:
        await live.put_agent(a)


# -- agents -------------------------------------------------------------------------------

async def test_put_agent_stores_the_whole_record_as_strings(backend: Backend) -> None:
    """A record replaces the old one whole; it reads back as its strings decode (an empty
    reason as None, an int time as a float)."""
    live = backend.live
    talking = AgentRecord("1002", S.ON_CALL, NOW - 3.5, misses=1, pause_reason="lunch", call_id="c1",
                          calls_taken=7, busy_seconds=812.25, queue="province")
    await live.put_agent(talking)
    await live.put_agent(AgentRecord("1001", S.PAUSED, 5, pause_reason=""))  # type: ignore[arg-type]
    assert await live.agents() == [AgentRecord("1001", S.PAUSED, 5.0, pause_reason=None), talking]
    await live.put_agent(free_agent("1002"))
    assert await live.agent("1002") == free_agent("1002") and await live.agent("nobody") is None


async def test_update_agent_stores_and_returns_the_change(backend: Backend) -> None:
    live = backend.live
    await live.put_agent(AgentRecord("1001", S.RESERVED, NOW - 1, call_id="c1", queue="main"))
    ringing = await live.update_agent("1001", lambda r: apply(r, Ring(), NOW))
    assert ringing == AgentRecord("1001", S.RINGING, NOW, call_id="c1", queue="main")
    assert await live.agent("1001") == ringing


async def test_update_agent_without_a_record_raises_and_writes_nothing(backend: Backend) -> None:
    with pytest.raises(KeyError, match="agent 1001 has no live record"):
        await backend.live.update_agent("1001", lambda r: r)
    assert await backend.live.agent("1001") is None and await backend.live.agents() == []


async def test_update_agent_keeps_the_record_when_the_change_raises(backend: Backend) -> None:
    live = backend.live
    await live.put_agent(free_agent("1001"))
    with pytest.raises(IllegalTransition, match="Answer is illegal in state available"):
        await live.update_agent("1001", lambda r: apply(r, Answer(), NOW))
    assert await live.agent("1001") == free_agent("1001")


async def test_concurrent_updates_all_land(backend: Backend) -> None:
    await backend.live.put_agent(free_agent("1001"))

    async def bump(live: LiveStore, times: int) -> None:
        for _ in range(times):
            await live.update_agent("1001", lambda r: replace(r, calls_taken=r.calls_taken + 1))

    await asyncio.gather(bump(backend.live, 40), bump(backend.other, 40))
    assert (await backend.live.agent("1001")).calls_taken == 80  # type: ignore[union-attr]
    assert await backend.published() == []


# -- calls --------------------------------------------------------------------------------

async def test_enqueue_waiting_and_routing_input(backend: Backend) -> None:
    live = backend.live
    first = call("c2", arrived_at=NOW - 40.125, language="en", skills=frozenset({"education"}),
                 priority=2, caller="13800000001", extra={"note": "x"})
    await given_state(live, [first, call("c1")], [free_agent("1001")])
    assert await live.waiting() == [call("c1"), first]  # by call id
    calls, agents = await live.routing_input()
    assert sorted(calls, key=lambda c: c.call_id) == [call("c1"), first] and agents == [free_agent("1001")]
    assert await live.call("c2") == first and await live.call("nope") is None
    assert await backend.published() == [CHANGED, CHANGED]


async def test_enqueue_and_read_returns_the_new_call_without_publishing(backend: Backend) -> None:
    live = backend.live
    await given_state(live, [call("older", arrived_at=NOW - 9)], [free_agent("1001")])
    await backend.published()
    calls, agents = await live.enqueue_and_read(call("new", arrived_at=NOW, caller="138"))
    assert sorted(c.call_id for c in calls) == ["new", "older"] and agents == [free_agent("1001")]
    assert [c.call_id for c in await live.waiting()] == ["new", "older"]
    assert await backend.published() == []


async def test_waiting_skips_offered_calls_and_remove_call_forgets(backend: Backend) -> None:
    live = backend.live
    await given_state(live, [call("c1"), call("c2")], [free_agent("1001")])
    assert await live.claim("c2", "1001", NOW) == 1
    assert [c.call_id for c in await live.waiting()] == ["c1"]
    assert [c.call_id for c in (await live.routing_input())[0]] == ["c1"]
    offered = await live.call("c2")
    assert (offered.state, offered.agent) == ("offered", "1001")  # type: ignore[union-attr]
    await live.remove_call("c1")
    await live.remove_call("c2")
    await live.remove_call("never-there")
    assert await live.waiting() == [] and await live.call("c1") is None and await live.call("c2") is None


async def test_requeue_keeps_the_place_and_adds_exclusions(backend: Backend) -> None:
    live = backend.live
    first = call("c1", arrived_at=NOW - 40.125, language="en", priority=2)
    await given_state(live, [first], [free_agent("1001")])
    assert await live.claim("c1", "1001", NOW) == 1
    await backend.published()
    await live.requeue("c1", "1001")  # ring-no-answer: back in line, not to the same agent
    await live.requeue("c1", "1002")
    await live.requeue("c1", None)
    assert await live.waiting() == [replace(first, excluded=frozenset({"1001", "1002"}))]
    assert await backend.published() == [CHANGED] * 3
    await live.requeue("gone", "1001")  # a call that no longer exists: nothing happens
    assert await live.call("gone") is None and await backend.published() == []


async def test_requeue_is_one_step_concurrent_requeues_and_a_removal_meanwhile_lose_nothing(backend: Backend) -> None:
    """Two round trips used to lose one of two concurrent exclusions, and a removal between
    them left a hash without ``call_id`` in the waiting set (``waiting()`` then raised)."""
    live = backend.live
    await given_state(live, [call("c1")], [])
    await asyncio.gather(live.requeue("c1", "1001"), live.requeue("c1", "1002"))
    assert (await live.call("c1")).excluded == {"1001", "1002"}  # type: ignore[union-attr]
    await asyncio.gather(live.remove_call("c1"), live.requeue("c1", "1003"))
    assert await live.call("c1") is None and await live.waiting() == []


async def test_a_callback_keeps_its_place_and_a_retry_waits_for_its_time(backend: Backend) -> None:
    live = backend.live
    booked = call("cb", arrived_at=NOW - 400, caller="138")
    await given_state(live, [booked, call("later", arrived_at=NOW - 10)], [free_agent("1001")])
    await live.requeue("cb", "1009")
    await backend.published()
    await live.make_callback("cb", "ctl-b")
    request = replace(booked, callback=True, owner="ctl-b", excluded=frozenset({"1009"}))
    assert await live.call("cb") == request
    assert await live.claim("cb", "1001", NOW) == 1
    served = await live.call("cb")
    assert served == replace(request, state="offered", agent="1001")
    await live.remove_call("cb")  # the callback session took it
    await live.retry_callback(served, attempts=1, not_before=NOW + 300)  # type: ignore[arg-type]
    again = replace(request, attempts=1, not_before=NOW + 300, excluded=frozenset())
    assert await live.waiting() == [again, call("later", arrived_at=NOW - 10)]
    assert await backend.published() == [CHANGED, CHANGED]


async def test_adopt_changes_the_owner_only(backend: Backend) -> None:
    await backend.live.enqueue(call("c1", owner="ctl-dead"))
    await backend.live.adopt("c1", "ctl-b")
    assert await backend.live.call("c1") == call("c1", owner="ctl-b")


# -- claims -------------------------------------------------------------------------------

async def test_claim_results(backend: Backend) -> None:
    live = backend.live
    await given_state(live, [call("c1"), call("c2")], [free_agent("1001"), free_agent("1002")])
    await backend.published()
    assert await live.claim("c1", "1001", NOW, "main") == 1
    assert await live.agent("1001") == AgentRecord("1001", S.RESERVED, NOW, call_id="c1", queue="main")
    assert await live.call("c1") == call("c1", state="offered", agent="1001")
    assert await live.claim("c2", "1001", NOW) == 0    # agent busy
    assert await live.claim("c1", "1002", NOW) == -1   # call not waiting (offered)
    assert await live.claim("nope", "1002", NOW) == -1  # call gone
    assert await live.claim("c2", "9999", NOW) == 0    # no such agent
    assert await live.claim("nope", "1001", NOW) == 0  # the agent is checked first
    assert await live.agent("1002") == free_agent("1002")
    assert await live.waiting() == [call("c2")]
    assert await backend.published() == []


@pytest.mark.parametrize("record, claimed", [
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW - 5, call_id="c0", queue="main"), True),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW, call_id="c0"), True),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW + 0.001, call_id="c0"), False),
    (AgentRecord("1001", S.WRAP_UP, NOW - 20, wrap_until=NOW - 5, pause_reason="lunch"), False),
    (AgentRecord("1001", S.PAUSED, NOW - 20, pause_reason="rona"), False),
    (AgentRecord("1001", S.RESERVED, NOW - 20, call_id="c0"), False),
    (AgentRecord("1001", S.RINGING, NOW - 20, call_id="c0"), False),
    (AgentRecord("1001", S.ON_CALL, NOW - 20, call_id="c0"), False),
    (AgentRecord("1001", S.LOGGED_OUT, NOW - 20), False),
], ids=lambda v: v.state.value if isinstance(v, AgentRecord) else str(v))
async def test_claim_by_agent_state(backend: Backend, record: AgentRecord, claimed: bool) -> None:
    live = backend.live
    busy = replace(record, misses=2, calls_taken=4, busy_seconds=99.5)
    await given_state(live, [call("c1")], [busy])
    assert await live.claim("c1", "1001", NOW, "province") == (1 if claimed else 0)
    if claimed:  # Reserve: every other field kept
        reserved = replace(busy, state=S.RESERVED, since=NOW, call_id="c1", queue="province", wrap_until=None)
        assert await live.agent("1001") == reserved
        assert await live.waiting() == []
    else:
        assert await live.agent("1001") == busy
        assert await live.waiting() == [call("c1")]


async def test_claim_trusts_the_router_with_exclusions_and_retry_times(backend: Backend) -> None:
    await given_state(backend.live, [call("c1", excluded=frozenset({"1001"}), not_before=NOW + 60)],
                      [free_agent("1001")])
    assert await backend.live.claim("c1", "1001", NOW) == 1


async def test_concurrent_claims_never_double_book(backend: Backend) -> None:
    """Every pair of 10 calls x 5 agents claimed at once from two controllers: each agent
    gets one call, each call at most one agent, and the records agree."""
    calls = [call(f"c{i}", arrived_at=NOW - 100 + i) for i in range(10)]
    agents = [free_agent(f"10{i:02d}", since=NOW - 50 + i) for i in range(5)]
    await given_state(backend.live, calls, agents)
    pairs = [(c.call_id, a.agent_id) for c in calls for a in agents]
    random.Random(7).shuffle(pairs)
    results = await asyncio.gather(*[
        (backend.live if i % 2 else backend.other).claim(c, a, NOW) for i, (c, a) in enumerate(pairs)])
    won = sorted(pair for pair, result in zip(pairs, results) if result == 1)
    assert set(results) <= {1, 0, -1} and len(won) == 5
    assert len({c for c, _ in won}) == 5 and len({a for _, a in won}) == 5
    for c, a in won:
        assert (await backend.live.agent(a)).call_id == c  # type: ignore[union-attr]
        assert (await backend.live.call(c)).agent == a  # type: ignore[union-attr]
    assert {c.call_id for c in await backend.live.waiting()} == {c.call_id for c in calls} - {c for c, _ in won}


async def test_concurrent_claims_with_more_agents_than_calls(backend: Backend) -> None:
    calls = [call(f"c{i}") for i in range(5)]
    agents = [free_agent(f"20{i:02d}") for i in range(10)]
    await given_state(backend.live, calls, agents)
    pairs = [(c.call_id, a.agent_id) for c in calls for a in agents]
    results = await asyncio.gather(*[
        (backend.live if i % 3 else backend.other).claim(c, a, NOW) for i, (c, a) in enumerate(pairs)])
    won = [pair for pair, result in zip(pairs, results) if result == 1]
    assert len({c for c, _ in won}) == len({a for _, a in won}) == len(won) == 5
    reserved = [r.agent_id for r in await backend.live.agents() if r.state is S.RESERVED]
    assert sorted(reserved) == sorted(a for _, a in won) and await backend.live.waiting() == []


# -- the leader's fast path ---------------------------------------------------------------

async def test_enqueue_claimed_for_a_free_agent(backend: Backend) -> None:
    live = backend.live
    await live.put_agent(free_agent("1001"))
    assert await live.enqueue_claimed(call("c1"), "1001", NOW) is True
    assert await live.agent("1001") == AgentRecord("1001", S.RESERVED, NOW, call_id="c1", queue="main")
    assert await live.call("c1") == call("c1", state="offered", agent="1001")
    assert await live.waiting() == [] and await backend.published() == []


@pytest.mark.parametrize("agent", [
    AgentRecord("1001", S.RINGING, NOW - 2, call_id="c0", queue="main"),
    AgentRecord("1001", S.PAUSED, NOW - 2, pause_reason="break"),
    AgentRecord("1001", S.WRAP_UP, NOW - 2, wrap_until=NOW + 5, call_id="c0"),
    None,
], ids=["ringing", "paused", "in-wrap-up", "unknown"])
async def test_enqueue_claimed_when_the_agent_is_no_longer_free(backend: Backend, agent: AgentRecord | None) -> None:
    """The call waits like any other and the routers are woken; the agent is untouched."""
    live = backend.live
    if agent is not None:
        await live.put_agent(agent)
    assert await live.enqueue_claimed(call("c1"), "1001", NOW) is False
    assert await live.agent("1001") == agent
    assert await live.waiting() == [call("c1")]
    assert await backend.published() == [CHANGED]


async def test_enqueue_claimed_racing_a_claim_for_the_same_agent(backend: Backend) -> None:
    await given_state(backend.live, [call("old")], [free_agent("1001")])
    fast, routed = await asyncio.gather(backend.live.enqueue_claimed(call("new"), "1001", NOW),
                                        backend.other.claim("old", "1001", NOW))
    assert (fast, routed) in [(True, 0), (False, 1)]
    winner = "new" if fast else "old"
    assert (await backend.live.agent("1001")).call_id == winner  # type: ignore[union-attr]
    assert [c.call_id for c in await backend.live.waiting()] == ["old" if fast else "new"]


# -- leader lease and heartbeats ----------------------------------------------------------

async def test_one_leader_until_its_lease_lapses(backend: Backend) -> None:
    first, second = await asyncio.gather(backend.live.try_lead("ctl-a", TTL), backend.other.try_lead("ctl-b", TTL))
    assert first != second  # exactly one leads
    leader, other = ("ctl-a", "ctl-b") if first else ("ctl-b", "ctl-a")
    assert await backend.live.try_lead(other, TTL) is False
    await backend.let_pass(TTL / 2)
    assert await backend.live.try_lead(leader, TTL) is True  # renewing extends the lease...
    await backend.let_pass(TTL * 2 / 3)
    assert await backend.live.try_lead(other, TTL) is False  # ...past the first TTL
    await backend.let_pass(TTL * 1.5)
    assert await backend.live.try_lead(other, TTL) is True  # lapsed: the other takes over
    assert await backend.live.try_lead(leader, TTL) is False
    assert await backend.published() == []


async def test_heartbeats_lapse_after_their_ttl(backend: Backend) -> None:
    live = backend.live
    await live.heartbeat("ctl-a", TTL)
    await live.heartbeat("ctl-b", TTL * 5)
    assert await live.alive({"ctl-a", "ctl-b", "ctl-c"}) == {"ctl-a", "ctl-b"}
    assert await live.alive(set()) == set()
    await backend.let_pass(TTL * 1.5)
    assert await live.alive({"ctl-a", "ctl-b"}) == {"ctl-b"}
    await live.heartbeat("ctl-a", TTL)
    assert await live.alive({"ctl-a"}) == {"ctl-a"}


@pytest.mark.parametrize("ttl_ms", [0, -5])
async def test_a_ttl_must_be_positive(backend: Backend, ttl_ms: int) -> None:
    with pytest.raises(Exception, match="invalid expire time"):
        await backend.live.try_lead("ctl-a", ttl_ms)
    with pytest.raises(Exception, match="invalid expire time"):
        await backend.live.heartbeat("ctl-a", ttl_ms)
    assert await backend.live.alive({"ctl-a"}) == set()
    assert await backend.live.try_lead("ctl-b", TTL) is True
    assert await backend.live.try_lead("ctl-a", ttl_ms) is False  # refused before its ttl is read


# -- flags and publications ---------------------------------------------------------------

async def test_flags(backend: Backend) -> None:
    live = backend.live
    await live.set_flag("notice", "flood")
    await live.set_flag("notice", "typhoon")
    await live.set_flag("closed", "1")
    assert await live.flags() == {"notice": "typhoon", "closed": "1"}
    await live.set_flag("notice", None)
    await live.set_flag("closed", "")  # empty clears too
    await live.set_flag("never-set", None)
    assert await live.flags() == {} and await backend.published() == []


async def test_what_is_published(backend: Backend) -> None:
    live = backend.live
    await live.notify_changed()
    await live.stop_ringing("1001")
    await live.publish_assignment("ctl-b", "c1", "1002", 2)
    await live.publish_assignment("ctl-a", "c2", "1003")
    await live.publish_desk_event("ctl-a", "1002", {"kind": "three_party_notice", "reason": "busy"})
    published = await backend.published()
    assert published == [CHANGED, ("control", "stop-ring 1001"),
                         ("owner:ctl-b", '{"call_id": "c1", "agent_id": "1002", "relax_step": 2}'),
                         ("owner:ctl-a", '{"call_id": "c2", "agent_id": "1003", "relax_step": 0}'),
                         ("desk", '{"from": "ctl-a", "agent_id": "1002", "event": '
                                  '{"kind": "three_party_notice", "reason": "busy"}}')]
    assert parse_assignment(published[2][1]) == ("c1", "1002", 2)


async def test_channel_names_are_the_instances(backend: Backend) -> None:
    prefix = backend.keys.prefix if isinstance(backend, RedisBackend) else ""
    live = backend.live
    assert (live.changed_channel, live.control_channel, live.owner_channel("ctl-a")) == (
        f"{prefix}changed", f"{prefix}control", f"{prefix}owner:ctl-a")


# -- quirks both keep (reported in issue 12; change the adapter and the fake together) ----

async def test_writing_to_a_call_that_is_gone_leaves_a_hash_call_cannot_read(backend: Backend) -> None:
    """``adopt`` and ``make_callback`` are plain HSETs: after ``remove_call`` they create a
    call hash without ``call_id``, and ``call`` then raises KeyError."""
    live = backend.live
    await live.adopt("gone", "ctl-b")
    with pytest.raises(KeyError, match="call_id"):
        await live.call("gone")
    await live.remove_call("gone")
    await live.make_callback("gone", "ctl-b")
    with pytest.raises(KeyError, match="call_id"):
        await live.call("gone")
    await live.remove_call("gone")


# -- the port -----------------------------------------------------------------------------

REDIS_PLUMBING = {"agent_key", "call_key", "waiting_key"}  # class members; redis, keys, p are set in __init__


def shape(member: Any) -> Any:
    """What a caller relies on: property or not, coroutine or not, parameter names, kinds, defaults."""
    if isinstance(member, property):
        return "property"
    params = [(p.name, p.kind, p.default) for p in inspect.signature(member).parameters.values()]
    return inspect.iscoroutinefunction(member), params


@pytest.mark.parametrize("implementation", [LiveState, InMemoryLiveState])
def test_both_implement_the_port(implementation: type) -> None:
    port = {n: shape(m) for n, m in vars(LiveStore).items() if not n.startswith("_")}
    assert {n: shape(inspect.getattr_static(implementation, n, None)) for n in port} == port


def test_the_port_and_the_fake_cover_every_public_member_of_the_adapter() -> None:
    public = {n for n in dir(LiveState) if not n.startswith("_")} - REDIS_PLUMBING
    assert public == {n for n in vars(LiveStore) if not n.startswith("_")}
    assert public <= set(dir(InMemoryLiveState))


# -- the free rule: Lua (evaluated by Redis) == agents.state.is_available -------------------

@pytest.fixture(scope="module")
def lua_free(redis_url: str) -> Iterator[Any]:
    """``lua_free(record, now)``: whether CLAIM_LUA found the agent free, on a throwaway prefix.

    The record is stored with ``put_agent`` and claimed for a call that does not exist, so
    the script answers 0 (agent not free) or -1 (free, but no such call) and changes nothing.
    """
    runner = asyncio.Runner()
    client = Redis.from_url(redis_url, decode_responses=True)
    keys = LiveKeys(f"hl:contract-lua-{uuid.uuid4().hex[:10]}:")
    live = LiveState(client, keys)

    async def free(record: AgentRecord, now: float) -> bool:
        await live.put_agent(record)
        return await live.claim("no-such-call", record.agent_id, now) == -1

    async def clean() -> None:
        stored = [k async for k in client.scan_iter(match=keys.pattern)]
        if stored:
            await client.delete(*stored)
        await client.aclose()

    try:
        yield lambda record, now: runner.run(free(record, now))
    finally:
        runner.run(clean())
        runner.close()


# Times are never negative: the controller's clock is epoch seconds (and see the test below).
# A pause reason is never "" (Pause refuses it, and storage reads "" back as None).
times = st.floats(min_value=0, allow_nan=False)
records = st.builds(
    AgentRecord, agent_id=st.just("1001"), state=st.just(S.WRAP_UP) | st.sampled_from(AgentState),
    since=times, misses=st.integers(0, 9), pause_reason=st.none() | st.text(min_size=1, max_size=8),
    wrap_until=st.none() | times | st.sampled_from([NOW, NOW + 1e-6, NOW - 1e-6]),
    call_id=st.none() | st.just("c0"), queue=st.none() | st.sampled_from(["main", "province"]),
)


@settings(max_examples=300, deadline=None)
@given(record=records, now=times | st.just(NOW))
def test_lua_agent_free_agrees_with_is_available(lua_free: Any, record: AgentRecord, now: float) -> None:
    assert lua_free(record, now) == is_available(record, now)


def test_lua_agent_free_before_time_zero(lua_free: Any) -> None:
    """A wrap-up without an end time is over for both (Lua once read it as wrap_until=0)."""
    record = AgentRecord("1001", S.WRAP_UP, 0.0, wrap_until=None)
    assert lua_free(record, -1.0) == is_available(record, -1.0)


async def test_a_saved_call_takes_extra_parts_only_while_it_is_held(backend: Backend) -> None:
    """The three-party room saves its value beside the call's; a write that comes after the
    call was stored and forgotten must not bring a saved state back."""
    live = backend.live
    await live.save_call("c1", {"call_id": "c1", "state": "talking"})  # type: ignore[attr-defined]
    await live.save_call_part("c1", "three_way", '{"state":"conference"}')  # type: ignore[attr-defined]
    assert await live.saved_call("c1") == {"call_id": "c1", "state": "talking",  # type: ignore[attr-defined]
                                           "three_way": '{"state":"conference"}'}
    await live.forget_call("c1")  # type: ignore[attr-defined]
    await live.save_call_part("c1", "three_way", "{}")  # type: ignore[attr-defined]
    assert await live.saved_call("c1") is None  # type: ignore[attr-defined]
