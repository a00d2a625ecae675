"""Live state shared by every controller, in Redis: agents, waiting calls, the leader lock.

Why Redis: two controllers (or one restarted) must see the same queues and agents, and an
agent must never be rung for two calls. The only write that races is the router's claim of
(call, agent); it is one Lua script, so Redis runs it atomically: the agent must still be
free and the call still waiting, or nothing changes. Other agent updates are optimistic
transactions (WATCH/MULTI) around the pure state machine in agents/state.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import replace
from typing import Any, Callable

from redis.asyncio import Redis
from redis.exceptions import WatchError

from agents.state import AgentRecord
from calls.model import QueuedCall
from hotline.live.keys import LiveKeys

log = logging.getLogger(__name__)

# Shared by the claim scripts. An agent is free when available, or in wrap-up that has ended
# (wrap_until <= now) with no pause pending: the same rule as agents.state.is_available.
_RESERVE_LUA = """
local function agent_free(agent, now)
  local st = redis.call('HGET', agent, 'state')
  if st == 'available' then return true end
  if st ~= 'wrap_up' then return false end
  -- a wrap-up with no end time is over, as in Python (AgentRecord.wrap_until None)
  local wu = tonumber(redis.call('HGET', agent, 'wrap_until') or '')
  local pending = redis.call('HGET', agent, 'pause_reason')
  return (wu == nil or wu <= now) and (pending == false or pending == '')
end
local function reserve(agent, call, call_id, agent_id, now, queue)
  redis.call('HSET', agent, 'state', 'reserved', 'call_id', call_id, 'since', now, 'wrap_until', '', 'queue', queue)
  redis.call('HSET', call, 'state', 'offered', 'agent', agent_id, 'offered_at', now)
end
"""

# KEYS: agent hash, call hash, waiting set. ARGV: call id, agent id, now, queue.
CLAIM_LUA = _RESERVE_LUA + """
if not agent_free(KEYS[1], tonumber(ARGV[3])) then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'waiting' then return -1 end
reserve(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: waiting set, agents set. ARGV: key prefix. The router's whole input in one round
# trip: [[call hash fields...], ...] for waiting calls, then the same for agents.
_ROWS_LUA = """
local function rows(set, kind)
  local out = {}
  for _, id in ipairs(redis.call('SMEMBERS', set)) do
    local h = redis.call('HGETALL', ARGV[1] .. kind .. ':' .. id)
    if #h > 0 then out[#out + 1] = h end
  end
  return out
end
"""
SNAPSHOT_LUA = _ROWS_LUA + """
return {rows(KEYS[1], 'call'), rows(KEYS[2], 'agent')}
"""

# KEYS: call hash, waiting set, agents set. ARGV: prefix, call id, then the call's
# field/value pairs. Enqueue and return the routing input in one round trip: the leader
# routes the new call inline, so no router needs waking (a PUBLISH here would wake our own
# router loop on the offer path for a step that finds nothing to do).
ENQUEUE_AND_READ_LUA = _ROWS_LUA + """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[2])
return {rows(KEYS[2], 'call'), rows(KEYS[3], 'agent')}
"""

# KEYS: agent hash, call hash, waiting set. ARGV: call id, agent id, now, queue, changed
# channel, then the call's field/value pairs. The leader's fast path: the call enters the
# shared queue and is claimed for the agent it was already offered to, atomically. If the
# agent is no longer free (a change the leader had not heard of yet), the call simply waits
# like any other and the routers are woken; the caller withdraws the ring it started.
ENQUEUE_CLAIMED_LUA = _RESERVE_LUA + """
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
if not agent_free(KEYS[1], tonumber(ARGV[3])) then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('PUBLISH', ARGV[5], '1')
  return 0
end
reserve(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
"""

# KEYS: call hash, waiting set. ARGV: call id, agent to exclude ("" for none), changed
# channel. Back in line at the call's old place, in one step: a call removed meanwhile (its
# caller hung up) stays removed, and two requeues at once both keep their exclusion.
REQUEUE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 or not redis.call('HGET', KEYS[1], 'call_id') then return 0 end
local excluded = redis.call('HGET', KEYS[1], 'excluded') or ''
if ARGV[2] ~= '' then
  local seen = false
  for id in string.gmatch(excluded, '[^,]+') do if id == ARGV[2] then seen = true end end
  if not seen then excluded = (excluded == '' and ARGV[2]) or (excluded .. ',' .. ARGV[2]) end
end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'agent', '', 'excluded', excluded)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], '1')
return 1
"""

# KEYS: leader key. ARGV: controller id, ttl ms. Take the lock if free, extend it if ours.
LEAD_LUA = """
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


SAVE_PART_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""


class LiveState:
    """The live state of one hotline instance in Redis (keys: ``hotline.live.keys``)."""

    def __init__(self, redis: Redis, keys: LiveKeys) -> None:
        self.redis = redis
        self.keys = keys
        self.p = keys.prefix  # the Lua scripts build call and agent keys from it
        self._claim = redis.register_script(CLAIM_LUA)
        self._lead = redis.register_script(LEAD_LUA)
        self._requeue = redis.register_script(REQUEUE_LUA)
        self._snapshot = redis.register_script(SNAPSHOT_LUA)
        self._enqueue_and_read = redis.register_script(ENQUEUE_AND_READ_LUA)
        self._enqueue_claimed = redis.register_script(ENQUEUE_CLAIMED_LUA)

    # -- keys ---------------------------------------------------------------------------
    def agent_key(self, agent_id: str) -> str:
        return self.keys.agent(agent_id)

    def call_key(self, call_id: str) -> str:
        return self.keys.call(call_id)

    @property
    def waiting_key(self) -> str:
        return self.keys.waiting

    @property
    def changed_channel(self) -> str:
        return self.keys.changed

    @property
    def control_channel(self) -> str:
        """Commands to every controller (e.g. stop ringing an agent who just paused)."""
        return self.keys.control

    def owner_channel(self, owner: str) -> str:
        return self.keys.owner(owner)

    # -- agents -------------------------------------------------------------------------
    async def agent(self, agent_id: str) -> AgentRecord | None:
        h = await self.redis.hgetall(self.agent_key(agent_id))
        return AgentRecord.from_dict(h) if h else None

    async def put_agent(self, record: AgentRecord) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.agent_key(record.agent_id))
            pipe.hset(self.agent_key(record.agent_id), mapping=record.to_dict())
            pipe.sadd(self.keys.agents, record.agent_id)
            await pipe.execute()

    async def agents(self) -> list[AgentRecord]:
        ids = sorted(await self.redis.smembers(self.keys.agents))
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self.agent_key(agent_id))
            rows = await pipe.execute()
        return [AgentRecord.from_dict(h) for h in rows if h]

    async def update_agent(self, agent_id: str, change: Callable[[AgentRecord], AgentRecord]) -> AgentRecord:
        """Apply a pure change to the agent's record atomically (optimistic, retried)."""
        key = self.agent_key(agent_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for attempt in range(20):
                try:
                    await pipe.watch(key)
                    h = await pipe.hgetall(key)
                    if not h:
                        raise KeyError(f"agent {agent_id} has no live record")
                    new = change(AgentRecord.from_dict(h))
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=new.to_dict())
                    await pipe.execute()
                    return new
                except WatchError:
                    # Back off a random moment: retrying at once keeps two writers in
                    # lock-step, and the one whose EXEC always lands second never gets through.
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
        raise RuntimeError(f"agent {agent_id}: too much contention updating its record")

    # -- calls --------------------------------------------------------------------------
    async def enqueue(self, call: QueuedCall) -> None:
        """Add the call to the shared queue and wake every router: one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.call_key(call.call_id), mapping=call.to_hash())
            pipe.sadd(self.waiting_key, call.call_id)
            pipe.publish(self.changed_channel, "1")
            await pipe.execute()

    async def requeue(self, call_id: str, excluded_agent: str | None) -> None:
        """Back to waiting with the original arrival time (head of its line), atomically
        (one script: see REQUEUE_LUA); a call that no longer exists is left alone."""
        await self._requeue(keys=[self.call_key(call_id), self.waiting_key],
                            args=[call_id, excluded_agent or "", self.changed_channel])

    async def call(self, call_id: str) -> QueuedCall | None:
        h = await self.redis.hgetall(self.call_key(call_id))
        return QueuedCall.from_hash(h) if h else None

    async def make_callback(self, call_id: str, owner: str) -> None:
        """The caller hung up after asking to be called back: the call keeps its place in
        line (same arrival time) as a callback request that ``owner`` will place."""
        await self.redis.hset(self.call_key(call_id), mapping={"callback": "1", "owner": owner})
        await self.notify_changed()

    async def retry_callback(self, call: QueuedCall, attempts: int, not_before: float) -> None:
        """Put a callback whose citizen did not answer back in line, at its old place
        (same arrival time), to be tried again from ``not_before``; wakes the routers so
        the leader sleeps exactly until then."""
        again = replace(call, state="waiting", agent="", excluded=frozenset(),
                                    callback=True, attempts=attempts, not_before=not_before)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.call_key(call.call_id))
            pipe.hset(self.call_key(call.call_id), mapping=again.to_hash())
            pipe.sadd(self.waiting_key, call.call_id)
            pipe.publish(self.changed_channel, "1")
            await pipe.execute()

    async def remove_call(self, call_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(self.waiting_key, call_id)
            pipe.delete(self.call_key(call_id))
            await pipe.execute()

    async def waiting(self) -> list[QueuedCall]:
        ids = sorted(await self.redis.smembers(self.waiting_key))
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(self.call_key(call_id))
            rows = await pipe.execute()
        return [QueuedCall.from_hash(h) for h in rows if h and h.get("state") == "waiting"]

    async def routing_input(self) -> tuple[list[QueuedCall], list[AgentRecord]]:
        """Waiting calls and all agent records, read atomically in one round trip."""
        rows = await self._snapshot(keys=[self.waiting_key, self.keys.agents], args=[self.p])
        return _decode_input(rows)

    async def enqueue_and_read(self, call: QueuedCall) -> tuple[list[QueuedCall], list[AgentRecord]]:
        """``enqueue`` plus ``routing_input`` in one atomic round trip (the leader's fast path)."""
        fields = [x for kv in call.to_hash().items() for x in kv]
        keys = [self.call_key(call.call_id), self.waiting_key, self.keys.agents]
        rows = await self._enqueue_and_read(keys=keys, args=[self.p, call.call_id, *fields])
        return _decode_input(rows)

    async def enqueue_claimed(self, call: QueuedCall, agent_id: str, now: float) -> bool:
        """Enqueue ``call`` already claimed for ``agent_id`` (one atomic round trip). False:
        the agent was not free after all; the call is then waiting in the shared queue."""
        fields = [x for kv in call.to_hash().items() for x in kv]
        keys = [self.agent_key(agent_id), self.call_key(call.call_id), self.waiting_key]
        args = [call.call_id, agent_id, repr(now), call.queue, self.changed_channel, *fields]
        return int(await self._enqueue_claimed(keys=keys, args=args)) == 1

    # -- routing ------------------------------------------------------------------------
    async def claim(self, call_id: str, agent_id: str, now: float, queue: str = "") -> int:
        """1 = claimed; 0 = agent no longer free; -1 = call no longer waiting."""
        keys = [self.agent_key(agent_id), self.call_key(call_id), self.waiting_key]
        return int(await self._claim(keys=keys, args=[call_id, agent_id, repr(now), queue]))

    async def try_lead(self, controller_id: str, ttl_ms: int) -> bool:
        return bool(await self._lead(keys=[self.keys.leader], args=[controller_id, ttl_ms]))

    # -- controller liveness ----------------------------------------------------------------
    async def heartbeat(self, controller_id: str, ttl_ms: int, api_url: str = "") -> None:
        await self.redis.set(self.keys.alive(controller_id), api_url or "1", px=ttl_ms)

    async def api_url(self, controller_id: str) -> str | None:
        value = await self.redis.get(self.keys.alive(controller_id))
        return value if value and value.startswith("http") else None

    async def call_owner(self, call_id: str) -> str | None:
        return await self.redis.hget(self.keys.call_state(call_id), "owner") or None

    async def alive(self, controller_ids: set[str]) -> set[str]:
        ids = sorted(controller_ids)
        if not ids:
            return set()
        flags = await self.redis.mget([self.keys.alive(cid) for cid in ids])
        return {cid for cid, flag in zip(ids, flags) if flag}

    async def adopt(self, call_id: str, owner: str) -> None:
        await self.redis.hset(self.call_key(call_id), "owner", owner)

    async def stop_ringing(self, agent_id: str) -> None:
        await self.redis.publish(self.control_channel, f"stop-ring {agent_id}")

    async def notify_changed(self) -> None:
        await self.redis.publish(self.changed_channel, "1")

    async def publish_desk_event(self, origin: str, agent_id: str, event: dict[str, Any]) -> None:
        """An event for one agent's desk, to the event streams every controller serves
        (``origin``: the controller that produced it and already delivered it itself)."""
        await self.redis.publish(self.keys.desk, json.dumps({"from": origin, "agent_id": agent_id, "event": event}))

    async def publish_assignment(self, owner: str, call_id: str, agent_id: str, relax_step: int = 0) -> None:
        message = {"call_id": call_id, "agent_id": agent_id, "relax_step": relax_step}
        await self.redis.publish(self.owner_channel(owner), json.dumps(message))

    # -- flags a supervisor sets at run time (e.g. the IVR's emergency notice) ------------
    # -- the call's state, saved at every step (issue 13) ------------------------------------
    async def save_call(self, owner: str, state: dict[str, str]) -> None:
        """Save a call's state-machine value, with the controller that holds the call."""
        key = self.keys.call_state(state["call_id"])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={**state, "owner": owner})
            pipe.sadd(self.keys.held, state["call_id"])
            await pipe.execute()

    async def forget_call(self, call_id: str) -> None:
        """The call is finished and stored: its saved state goes."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.call_state(call_id))
            pipe.srem(self.keys.held, call_id)
            await pipe.execute()

    async def save_call_part(self, call_id: str, part: str, value: str) -> None:
        """Add a part to a call's saved state if the call is still held (a late write never
        brings back the state of a call already stored and forgotten)."""
        await self.redis.eval(SAVE_PART_LUA, 1, self.keys.call_state(call_id), part, value)

    async def saved_call(self, call_id: str) -> dict[str, str] | None:
        """One call's saved state (without its owner), or None."""
        saved = await self.redis.hgetall(self.keys.call_state(call_id))
        saved.pop("owner", None)
        return saved or None

    async def held_calls(self) -> list[tuple[str, dict[str, str]]]:
        """(owner, saved state) of every call some controller holds (or held, and died)."""
        ids = sorted(await self.redis.smembers(self.keys.held))
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(self.keys.call_state(call_id))
            rows = await pipe.execute()
        return [(h.pop("owner", ""), h) for h in rows if h]

    async def flags(self) -> dict[str, str]:
        return await self.redis.hgetall(self.keys.flags)

    async def set_flag(self, name: str, value: str | None) -> None:
        if value:
            await self.redis.hset(self.keys.flags, name, value)
        else:
            await self.redis.hdel(self.keys.flags, name)


def _decode_input(rows: list[list[list[str]]]) -> tuple[list[QueuedCall], list[AgentRecord]]:
    calls, agents = rows
    pairs = lambda flat: dict(zip(flat[::2], flat[1::2]))  # noqa: E731
    waiting = [QueuedCall.from_hash(h) for h in map(pairs, calls) if h.get("state") == "waiting"]
    return waiting, [AgentRecord.from_dict(pairs(flat)) for flat in agents]


async def ping(redis: Redis) -> bool:
    try:
        return bool(await redis.ping())
    except Exception:  # any connection problem means "not there"
        return False


def parse_assignment(data: Any) -> tuple[str, str, int] | None:
    try:
        msg = json.loads(data)
        return str(msg["call_id"]), str(msg["agent_id"]), int(msg.get("relax_step", 0))
    except (ValueError, KeyError, TypeError):
        log.warning("malformed assignment message ignored: %r", data)
        return None
