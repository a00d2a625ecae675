"""Benchmark of ``LiveState.claim`` (one Lua script) against the WATCH/MULTI transaction it replaces.

Run: ``python -m benchmarks.redis_claim_bench`` (about 10-20 s; needs Redis at
``REDIS_URL``, default redis://127.0.0.1:6379/0).

Sets up 500 agent hashes (about 20 % available, the rest on a call, in wrap-up or paused)
and 300 waiting calls under a temporary prefix ``hl:unittest-bench-<random>:``, picks the
longest-idle eligible agent and the head-of-line call (the router's job, done once and not
timed), then times, interleaved in the same loop and over the same client:

* ``PING``: one round trip, the floor;
* ``LiveState.claim``: EVALSHA of the claim script, one round trip;
* the same claim as an optimistic transaction from Python: WATCH agent+call, HMGET the
  agent, HGET the call, then MULTI/HSET/HSET/SREM/EXEC (4 round trips), with the same
  rule as the script (available, or wrap-up over without a pending pause).

Both claims must return 1 and leave identical hashes; agent, call and waiting set are
restored between iterations (not timed). The server-side cost of the script comes from
the ``INFO commandstats`` delta of ``evalsha`` (other clients of the same Redis may add
calls; the benchmark says so when the call count differs from its own). Keys are deleted
at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import WatchError

from agents.state import AgentRecord, AgentState, is_available
from benchmarks.stats import nearest_rank_p99 as p99
from calls.model import QueuedCall
from hotline.live.keys import LiveKeys
from hotline.live.redis_state import LiveState

NOW = 1_700_000_000.0
S = AgentState


def make_agents(rng: random.Random, n: int) -> list[AgentRecord]:
    agents = []
    for i in range(n):
        agent_id = f"{1000 + i}"
        roll = rng.random()
        since = NOW - rng.uniform(1, 600)
        if roll < 0.2:
            rec = AgentRecord(agent_id, S.AVAILABLE, since, calls_taken=rng.randint(0, 40))
        elif roll < 0.3:  # wrap-up, some over already, a few with a pause pending
            rec = AgentRecord(agent_id, S.WRAP_UP, since, wrap_until=since + 15, call_id=f"x{i}", queue="main",
                              pause_reason="lunch" if rng.random() < 0.2 else None)
        elif roll < 0.4:
            rec = AgentRecord(agent_id, S.PAUSED, since, pause_reason="break")
        else:
            rec = AgentRecord(agent_id, S.ON_CALL, since, call_id=f"x{i}", queue="main")
        agents.append(rec)
    return agents


async def claim_watch(live: LiveState, call_id: str, agent_id: str, now: float, queue: str = "") -> int:
    """The claim as an optimistic WATCH/MULTI transaction: what the Lua script replaces."""
    akey, ckey = live.agent_key(agent_id), live.call_key(call_id)
    async with live.redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(akey, ckey)
                state, wrap_until, pending = await pipe.hmget(akey, "state", "wrap_until", "pause_reason")
                free = state == "available" or (
                    state == "wrap_up" and float(wrap_until or 0) <= now and not pending)
                if not free:
                    return 0
                if await pipe.hget(ckey, "state") != "waiting":
                    return -1
                pipe.multi()
                pipe.hset(akey, mapping={"state": "reserved", "call_id": call_id, "since": repr(now),
                                         "wrap_until": "", "queue": queue})
                pipe.hset(ckey, mapping={"state": "offered", "agent": agent_id, "offered_at": repr(now)})
                pipe.srem(live.waiting_key, call_id)
                await pipe.execute()
                return 1
            except WatchError:
                continue


async def commandstats(redis: Redis) -> dict[str, dict[str, float]]:
    info = await redis.info("commandstats")
    return {k[len("cmdstat_"):]: v for k, v in info.items() if k.startswith("cmdstat_")}


async def run(url: str, iterations: int, n_agents: int, n_calls: int) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    prefix = f"hl:unittest-bench-{uuid.uuid4().hex[:10]}:"
    live = LiveState(redis, LiveKeys(prefix))
    rng = random.Random(12345)
    try:
        agents = make_agents(rng, n_agents)
        async with redis.pipeline(transaction=False) as pipe:
            for rec in agents:
                pipe.hset(live.agent_key(rec.agent_id), mapping=rec.to_dict())
                pipe.sadd(f"{prefix}agents", rec.agent_id)
            for i in range(n_calls):
                call = QueuedCall(call_id=f"c{i}", owner="bench", queue="main", arrived_at=NOW - 120 + i * 0.3)
                pipe.hset(live.call_key(call.call_id), mapping=call.to_hash())
                pipe.sadd(live.waiting_key, call.call_id)
            await pipe.execute()

        # The router's choice (not timed): longest-idle eligible agent, head-of-line call.
        eligible = [r for r in await live.agents() if is_available(r, NOW)]
        chosen = min(eligible, key=lambda r: max(r.since, r.wrap_until or 0.0))
        head = min(await live.waiting(), key=lambda c: c.arrived_at)
        akey, ckey = live.agent_key(chosen.agent_id), live.call_key(head.call_id)
        agent_hash, call_hash = await redis.hgetall(akey), await redis.hgetall(ckey)

        async def reset() -> None:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.delete(akey, ckey)
                pipe.hset(akey, mapping=agent_hash)
                pipe.hset(ckey, mapping=call_hash)
                pipe.sadd(live.waiting_key, head.call_id)
                await pipe.execute()

        async def lua() -> int:
            return await live.claim(head.call_id, chosen.agent_id, NOW, "main")

        async def watch() -> int:
            return await claim_watch(live, head.call_id, chosen.agent_id, NOW, "main")

        async def ping() -> bool:
            return bool(await redis.ping())

        # Same outcome both ways, and warm-up (loads the script, fills the pool).
        assert await lua() == 1
        after_lua = (await redis.hgetall(akey), await redis.hgetall(ckey), await redis.smembers(live.waiting_key))
        await reset()
        assert await watch() == 1
        after_watch = (await redis.hgetall(akey), await redis.hgetall(ckey), await redis.smembers(live.waiting_key))
        assert after_lua == after_watch, "the WATCH/MULTI baseline must do exactly what the script does"
        assert await lua() == 0  # ... and both must refuse the agent they just reserved
        assert await watch() == 0
        await reset()
        for _ in range(200):
            await ping()
            assert await lua() == 1
            await reset()
            assert await watch() == 1
            await reset()

        timings: dict[str, list[float]] = {"ping": [], "lua": [], "watch": []}
        ops: dict[str, Callable[[], Awaitable[object]]] = {"ping": ping, "lua": lua, "watch": watch}
        before = await commandstats(redis)
        started = time.perf_counter()
        order = list(ops)
        for i in range(iterations):
            rng.shuffle(order)
            for name in order:
                t0 = time.perf_counter()
                result = await ops[name]()
                timings[name].append(time.perf_counter() - t0)
                if name != "ping":
                    assert result == 1, f"{name} claim failed at iteration {i}"
                    await reset()
        wall = time.perf_counter() - started
        after = await commandstats(redis)

        print(f"Python {platform.python_version()}, redis-py async, Redis {(await redis.info('server'))['redis_version']}"
              f" at {url}, {os.cpu_count()} CPU(s)")
        print(f"{n_agents} agents ({len(eligible)} eligible), {n_calls} waiting calls; claim of the longest-idle "
              f"eligible agent {chosen.agent_id} for {head.call_id}; {iterations} iterations each, "
              f"interleaved, {wall:.1f} s")
        print()
        floor = statistics.median(timings["ping"])
        lua_med = statistics.median(timings["lua"])
        print(f"{'round trip from Python':<34} {'median':>9} {'p99':>9} {'x PING':>7} {'x Lua':>7}")
        labels = {"ping": "PING (floor)", "lua": "LiveState.claim (EVALSHA, Lua)",
                  "watch": "WATCH/MULTI claim (baseline)"}
        for name in ("ping", "lua", "watch"):
            med = statistics.median(timings[name])
            print(f"{labels[name]:<34} {med * 1e6:>7.0f}us {p99(timings[name]) * 1e6:>7.0f}us "
                  f"{med / floor:>7.2f} {med / lua_med:>7.2f}")

        calls = after.get("evalsha", {}).get("calls", 0) - before.get("evalsha", {}).get("calls", 0)
        usec = after.get("evalsha", {}).get("usec", 0) - before.get("evalsha", {}).get("usec", 0)
        print()
        if calls:
            note = "" if calls == iterations else f" (expected {iterations}: other clients used EVALSHA too)"
            print(f"server side, INFO commandstats delta: evalsha {calls} calls{note}, "
                  f"{usec / calls:.2f} usec_per_call = {usec / calls / (lua_med * 1e6) * 100:.1f} % "
                  f"of the claim's round trip")
        else:
            print("server side: no evalsha calls counted (commandstats unavailable?)")
        txn = ("watch", "hmget", "hget", "multi", "hset", "srem", "exec", "unwatch")
        txn_usec = sum(after.get(c, {}).get("usec", 0) - before.get(c, {}).get("usec", 0) for c in txn)
        print(f"server side, WATCH/MULTI baseline (watch, hmget, hget, multi, exec, hset, srem, unwatch; "
              f"includes the untimed resets' hset/srem): {txn_usec / iterations:.2f} usec per iteration")
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
        left = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        await redis.aclose()
        print(f"cleaned up {len(keys)} keys under {prefix} ({len(left)} left)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args(argv)
    if args.iterations < 2000:
        parser.error("use at least 2000 iterations for a meaningful p99")
    asyncio.run(run(args.redis, args.iterations, args.agents, args.calls))


if __name__ == "__main__":
    main()
