"""The live state in memory: ``hotline.live.redis_state.LiveState`` without Redis.

Why: the shell's paths (RONA, withdrawal, callbacks, the router's claims) should be testable
in milliseconds, and the simulator must run with no Redis server. ``InMemoryLiveState``
implements the ``LiveStore`` port (``tests/contract/live_port.py``), and
``test_live_contract.py`` runs the same behaviour tests against it and against Redis.

How it stays faithful:

- It keeps what Redis keeps: one string hash per agent (``AgentRecord.to_dict``) and per
  call (``QueuedCall.to_hash``), the waiting set, the flags, two kinds of expiring value.
  Every read decodes, and writes to a call merge fields into its hash as HSET does, so the
  round trip behaves the same (``pause_reason=""`` reads back as None; ``adopt`` of a call
  that is gone leaves a hash without ``call_id``, which ``call`` cannot decode).
- The claim scripts re-implement two rules of ``agents.state`` in Lua: when an agent is
  free, and what Reserve changes. Here they are ``is_available`` and ``apply(Reserve)``.
- Each Redis round trip of the adapter is one ``await asyncio.sleep(0)``, then what that
  round trip does, with no await inside. Concurrent tasks thus interleave where they
  would with Redis: a script stays atomic, and a read-then-write (``requeue``) keeps its
  race. ``update_agent`` calls ``change`` once, like an update that met no contention.
- Time matters only for the leader lease and heartbeats; they read the injected ``clock``
  (seconds). As in Redis, a value set with ``ttl_ms`` lives while no more than ``ttl_ms``
  has passed.
- Publications are appended to ``published`` and delivered to every ``Subscription`` of
  their channel, named as ``LiveKeys("")`` names them (``changed``, ``control``, ``owner:<id>``).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any, AsyncIterator, Callable, NamedTuple

from agents.state import AgentRecord, Reserve, apply, is_available
from calls.model import QueuedCall
from hotline.live.keys import LiveKeys

Hash = dict[str, str]


class Published(NamedTuple):
    """One pub/sub message."""

    channel: str
    data: str


class Subscription:
    """The messages of some channels, shaped like redis-py's pub/sub messages, so the
    controller's listener reads them as it reads Redis'. Use it as a context manager or
    ``close`` it."""

    def __init__(self, channels: frozenset[str], detach: Callable[["Subscription"], None]) -> None:
        self.channels = channels
        self._detach = detach
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def deliver(self, message: Published) -> None:
        if message.channel in self.channels:
            self._inbox.put_nowait({"type": "message", "pattern": None,
                                    "channel": message.channel, "data": message.data})

    async def listen(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self._inbox.get()

    def pending(self) -> list[dict[str, Any]]:
        """The messages delivered and not yet read, which are then read."""
        return [self._inbox.get_nowait() for _ in range(self._inbox.qsize())]

    def close(self) -> None:
        self._detach(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _round_trip() -> None:
    """Where the adapter waits for Redis: other tasks may run."""
    await asyncio.sleep(0)


def _ttl_seconds(ttl_ms: int) -> float:
    """Redis' checks on ``SET ... PX ttl_ms``, with its messages. Raises ValueError."""
    if not isinstance(ttl_ms, int):
        raise ValueError("value is not an integer or out of range")
    if ttl_ms <= 0:
        raise ValueError("invalid expire time in 'set' command")
    return ttl_ms / 1000


class InMemoryLiveState:
    """The ``LiveStore`` of one hotline instance, in this process (see the module docstring).

    Several controllers of one simulated instance share one object. ``clock`` gives
    seconds, for the expiring values only (``claim`` and friends take ``now``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.published: list[Published] = []
        self._names = LiveKeys("")
        self._agents: dict[str, Hash] = {}
        self._calls: dict[str, Hash] = {}
        self._waiting: set[str] = set()
        self._flags: Hash = {}
        self._held: dict[str, Hash] = {}  # call id -> saved state and owner
        self._expiring: dict[str, tuple[str, float]] = {}  # name -> (value, deadline)
        self._subscriptions: list[Subscription] = []

    # -- pub/sub --------------------------------------------------------------------------
    @property
    def changed_channel(self) -> str:
        return self._names.changed

    @property
    def control_channel(self) -> str:
        return self._names.control

    def owner_channel(self, owner: str) -> str:
        return self._names.owner(owner)

    def subscribe(self, *channels: str) -> Subscription:
        """Receive what is published on ``channels`` from now on."""
        subscription = Subscription(frozenset(channels), self._subscriptions.remove)
        self._subscriptions.append(subscription)
        return subscription

    def _publish(self, channel: str, data: str) -> None:
        message = Published(channel, data)
        self.published.append(message)
        for subscription in list(self._subscriptions):
            subscription.deliver(message)

    # -- agents ---------------------------------------------------------------------------
    async def agent(self, agent_id: str) -> AgentRecord | None:
        await _round_trip()
        return self._record(agent_id)

    async def put_agent(self, record: AgentRecord) -> None:
        await _round_trip()
        self._agents[record.agent_id] = record.to_dict()

    async def agents(self) -> list[AgentRecord]:
        await _round_trip()
        return [AgentRecord.from_dict(self._agents[agent_id]) for agent_id in sorted(self._agents)]

    async def update_agent(self, agent_id: str, change: Callable[[AgentRecord], AgentRecord]) -> AgentRecord:
        await _round_trip()
        current = self._record(agent_id)
        if current is None:
            raise KeyError(f"agent {agent_id} has no live record")
        new = change(current)
        self._agents[agent_id] = new.to_dict()
        return new

    def _record(self, agent_id: str) -> AgentRecord | None:
        fields = self._agents.get(agent_id)
        return AgentRecord.from_dict(fields) if fields else None

    # -- calls ----------------------------------------------------------------------------
    async def enqueue(self, call: QueuedCall) -> None:
        await _round_trip()
        self._add_waiting(call)
        self._publish(self.changed_channel, "1")

    async def requeue(self, call_id: str, excluded_agent: str | None) -> None:
        await _round_trip()
        fields = self._calls.get(call_id)
        if not fields:
            return
        excluded = QueuedCall.from_hash(fields).excluded | ({excluded_agent} if excluded_agent else set())
        self._merge(call_id, {"state": "waiting", "agent": "", "excluded": ",".join(sorted(excluded))})
        self._waiting.add(call_id)
        await self.notify_changed()

    async def call(self, call_id: str) -> QueuedCall | None:
        await _round_trip()
        fields = self._calls.get(call_id)
        return QueuedCall.from_hash(fields) if fields else None

    async def make_callback(self, call_id: str, owner: str) -> None:
        await _round_trip()
        self._merge(call_id, {"callback": "1", "owner": owner})
        await self.notify_changed()

    async def retry_callback(self, call: QueuedCall, attempts: int, not_before: float) -> None:
        again = replace(call, state="waiting", agent="", excluded=frozenset(),
                        callback=True, attempts=attempts, not_before=not_before)
        await _round_trip()
        self._calls.pop(call.call_id, None)
        self._add_waiting(again)
        self._publish(self.changed_channel, "1")

    async def remove_call(self, call_id: str) -> None:
        await _round_trip()
        self._waiting.discard(call_id)
        self._calls.pop(call_id, None)

    async def waiting(self) -> list[QueuedCall]:
        await _round_trip()
        return self._waiting_calls()

    async def routing_input(self) -> tuple[list[QueuedCall], list[AgentRecord]]:
        await _round_trip()
        return self._routing_input()

    async def enqueue_and_read(self, call: QueuedCall) -> tuple[list[QueuedCall], list[AgentRecord]]:
        await _round_trip()
        self._add_waiting(call)
        return self._routing_input()

    async def enqueue_claimed(self, call: QueuedCall, agent_id: str, now: float) -> bool:
        await _round_trip()
        self._merge(call.call_id, call.to_hash())
        if not self._free(agent_id, now):
            self._waiting.add(call.call_id)
            self._publish(self.changed_channel, "1")
            return False
        self._reserve(call.call_id, agent_id, now, call.queue)
        return True

    def _merge(self, call_id: str, fields: Hash) -> None:
        """HSET: the fields are added to the call's hash, which is created if missing."""
        self._calls.setdefault(call_id, {}).update(fields)

    def _add_waiting(self, call: QueuedCall) -> None:
        self._merge(call.call_id, call.to_hash())
        self._waiting.add(call.call_id)

    def _waiting_calls(self) -> list[QueuedCall]:
        rows = (self._calls.get(call_id) for call_id in sorted(self._waiting))
        return [QueuedCall.from_hash(h) for h in rows if h and h.get("state") == "waiting"]

    def _routing_input(self) -> tuple[list[QueuedCall], list[AgentRecord]]:
        agents = [AgentRecord.from_dict(self._agents[agent_id]) for agent_id in sorted(self._agents)]
        return self._waiting_calls(), agents

    # -- routing --------------------------------------------------------------------------
    async def claim(self, call_id: str, agent_id: str, now: float, queue: str = "") -> int:
        await _round_trip()
        if not self._free(agent_id, now):
            return 0
        if self._calls.get(call_id, {}).get("state") != "waiting":
            return -1
        self._reserve(call_id, agent_id, now, queue)
        self._waiting.discard(call_id)
        return 1

    def _free(self, agent_id: str, now: float) -> bool:
        record = self._record(agent_id)
        return record is not None and is_available(record, now)

    def _reserve(self, call_id: str, agent_id: str, now: float, queue: str) -> None:
        """What the claim scripts' ``reserve`` does to the agent and the call."""
        record = self._record(agent_id)
        assert record is not None
        self._agents[agent_id] = apply(record, Reserve(call_id, queue or None), now).to_dict()
        self._merge(call_id, {"state": "offered", "agent": agent_id, "offered_at": repr(now)})

    async def try_lead(self, controller_id: str, ttl_ms: int) -> bool:
        await _round_trip()
        if self._unexpired(self._names.leader) not in (None, controller_id):
            return False  # the holder's lease is untouched; the candidate's ttl is not checked
        self._set_expiring(self._names.leader, controller_id, ttl_ms)
        return True

    # -- controller liveness --------------------------------------------------------------
    async def heartbeat(self, controller_id: str, ttl_ms: int, api_url: str = "") -> None:
        await _round_trip()
        self._set_expiring(self._names.alive(controller_id), api_url or "1", ttl_ms)

    async def api_url(self, controller_id: str) -> str | None:
        await _round_trip()
        value = self._unexpired(self._names.alive(controller_id))
        return value if value and value.startswith("http") else None

    async def call_owner(self, call_id: str) -> str | None:
        await _round_trip()
        return self._held.get(call_id, {}).get("owner") or None

    async def alive(self, controller_ids: set[str]) -> set[str]:
        if not controller_ids:
            return set()
        await _round_trip()
        return {cid for cid in controller_ids if self._unexpired(self._names.alive(cid))}

    def _set_expiring(self, name: str, value: str, ttl_ms: int) -> None:
        self._expiring[name] = (value, self.clock() + _ttl_seconds(ttl_ms))

    def _unexpired(self, name: str) -> str | None:
        value, deadline = self._expiring.get(name, (None, 0.0))
        if value is not None and self.clock() > deadline:
            del self._expiring[name]
            return None
        return value

    async def adopt(self, call_id: str, owner: str) -> None:
        await _round_trip()
        self._merge(call_id, {"owner": owner})

    async def stop_ringing(self, agent_id: str) -> None:
        await _round_trip()
        self._publish(self.control_channel, f"stop-ring {agent_id}")

    async def notify_changed(self) -> None:
        await _round_trip()
        self._publish(self.changed_channel, "1")

    async def publish_assignment(self, owner: str, call_id: str, agent_id: str, relax_step: int = 0) -> None:
        message = {"call_id": call_id, "agent_id": agent_id, "relax_step": relax_step}
        await _round_trip()
        self._publish(self.owner_channel(owner), json.dumps(message))

    async def publish_desk_event(self, origin: str, agent_id: str, event: dict[str, Any]) -> None:
        await _round_trip()
        self._publish(self._names.desk, json.dumps({"from": origin, "agent_id": agent_id, "event": event}))

    # -- flags ----------------------------------------------------------------------------
    async def flags(self) -> dict[str, str]:
        await _round_trip()
        return dict(self._flags)

    async def set_flag(self, name: str, value: str | None) -> None:
        await _round_trip()
        if value:
            self._flags[name] = value
        else:
            self._flags.pop(name, None)

    # -- the call's saved state ------------------------------------------------------------
    async def save_call(self, owner: str, state: dict[str, str]) -> None:
        await _round_trip()
        self._held[state["call_id"]] = {**state, "owner": owner}

    async def forget_call(self, call_id: str) -> None:
        await _round_trip()
        self._held.pop(call_id, None)

    async def saved_call(self, call_id: str) -> dict[str, str] | None:
        await _round_trip()
        saved = self._held.get(call_id)
        return {k: v for k, v in saved.items() if k != "owner"} if saved else None

    async def save_call_part(self, call_id: str, part: str, value: str) -> None:
        await _round_trip()
        if call_id in self._held:
            self._held[call_id] = {**self._held[call_id], part: value}

    async def held_calls(self) -> list[tuple[str, dict[str, str]]]:
        await _round_trip()
        rows = [dict(self._held[c]) for c in sorted(self._held)]
        return [(h.pop("owner", ""), h) for h in rows]
