"""The ports of the shell: what sessions and the router need, as small interfaces.

Each is implemented by one adapter in the process (Redis, the database, AMI/FastAGI) and by
a fake in ``tests/contract``: the session code cannot tell them apart, so the session's paths
(RONA, withdrawal, callback booking, survey, a crash mid-call, a lost Redis) are tested in
milliseconds, and the same code runs live. Nothing here imports an I/O library.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Protocol

from acd import Assignment, QueuePolicy
from agents.state import AgentRecord
from calls.model import QueuedCall
from calls.records import CallEvent, CallRecord

if TYPE_CHECKING:  # the asyncio Task in a signature only: no event loop here
    import asyncio


# The live state shared by every controller: ``hotline.live.redis_state.LiveState`` on Redis and
# ``tests.contract.fake_live.InMemoryLiveState`` in memory implement it; tests/contract runs one
# suite against both. Pub/sub: every write below that says "publishes" sends "1" to
# ``changed_channel``; nothing else publishes.
class LiveStore(Protocol):
    """Agents, waiting calls, the leader lease, heartbeats and flags shared by every controller."""

    # -- channels (the controller's listener subscribes to them) ----------------------------
    @property
    def changed_channel(self) -> str:
        """Something in the routing picture changed: routers wake."""
        ...

    @property
    def control_channel(self) -> str:
        """Commands to every controller: ``stop-ring <agent id>``."""
        ...

    def owner_channel(self, owner: str) -> str:
        """Assignments for the calls one controller holds (JSON, see ``publish_assignment``)."""
        ...

    # -- agents ---------------------------------------------------------------------------
    async def agent(self, agent_id: str) -> AgentRecord | None:
        """The agent's record, or None when it has none."""
        ...

    async def put_agent(self, record: AgentRecord) -> None:
        """Store the record whole (no field of an older record is left)."""
        ...

    async def agents(self) -> list[AgentRecord]:
        """Every agent's record, by agent id."""
        ...

    async def update_agent(self, agent_id: str, change: Callable[[AgentRecord], AgentRecord]) -> AgentRecord:
        """Store ``change(record)`` atomically and return it. ``change`` may run more than once
        (retried on contention). Raises KeyError when the agent has no record (nothing is
        written), whatever ``change`` raises, or RuntimeError after 20 contended attempts."""
        ...

    # -- calls ----------------------------------------------------------------------------
    async def enqueue(self, call: QueuedCall) -> None:
        """Store the call and put it in the waiting set; publishes."""
        ...

    async def requeue(self, call_id: str, excluded_agent: str | None) -> None:
        """Back to waiting, keeping its arrival time, with ``excluded_agent`` added to its
        exclusions; publishes. A call that no longer exists: nothing happens."""
        ...

    async def call(self, call_id: str) -> QueuedCall | None:
        """The call in any state (waiting, offered), or None."""
        ...

    async def make_callback(self, call_id: str, owner: str) -> None:
        """Mark the call as a callback request placed by ``owner``, keeping its place; publishes."""
        ...

    async def retry_callback(self, call: QueuedCall, attempts: int, not_before: float) -> None:
        """Store ``call`` waiting again as a callback (same arrival time, no exclusions) to be
        tried from ``not_before``; publishes."""
        ...

    async def remove_call(self, call_id: str) -> None:
        """Forget the call (no error when it is already gone)."""
        ...

    async def waiting(self) -> list[QueuedCall]:
        """The calls in state ``waiting``, by call id."""
        ...

    async def routing_input(self) -> tuple[list[QueuedCall], list[AgentRecord]]:
        """Waiting calls and every agent's record, read atomically; order not specified."""
        ...

    async def enqueue_and_read(self, call: QueuedCall) -> tuple[list[QueuedCall], list[AgentRecord]]:
        """``enqueue`` (without publishing) then ``routing_input``, atomically."""
        ...

    async def enqueue_claimed(self, call: QueuedCall, agent_id: str, now: float) -> bool:
        """Store the call already offered to the agent, atomically. False when the agent was
        not free at ``now``: the call then waits like any other, and this publishes."""
        ...

    # -- routing --------------------------------------------------------------------------
    async def claim(self, call_id: str, agent_id: str, now: float, queue: str = "") -> int:
        """Offer the call to the agent, atomically: 1 = done (agent reserved, call offered and
        out of the waiting set); 0 = the agent is not free at ``now`` (checked first, also
        for an unknown agent); -1 = the call is not waiting. Exclusions and ``not_before``
        are the router's business, not checked here."""
        ...

    async def try_lead(self, controller_id: str, ttl_ms: int) -> bool:
        """Take the router's lease for ``ttl_ms`` when nobody holds it, or renew it when we do.
        A lease lapses once more than ``ttl_ms`` has passed since it was last taken or renewed."""
        ...

    # -- controller liveness --------------------------------------------------------------
    async def heartbeat(self, controller_id: str, ttl_ms: int, api_url: str = "") -> None:
        """The controller is alive for ``ttl_ms`` from now; ``api_url`` is where its HTTP API
        answers (the other controllers forward a call's operations there)."""
        ...

    async def api_url(self, controller_id: str) -> str | None:
        """Where a live controller's HTTP API answers, or None (dead, or not told)."""
        ...

    async def call_owner(self, call_id: str) -> str | None:
        """The controller that holds the call (its saved state's owner), or None."""
        ...

    async def alive(self, controller_ids: set[str]) -> set[str]:
        """Those of ``controller_ids`` whose heartbeat has not lapsed."""
        ...

    async def adopt(self, call_id: str, owner: str) -> None:
        """The call's owner becomes ``owner`` (a controller took over a dead one's calls)."""
        ...

    async def stop_ringing(self, agent_id: str) -> None:
        """Publish ``stop-ring <agent_id>`` on the control channel."""
        ...

    async def notify_changed(self) -> None:
        """Publish on the changed channel."""
        ...

    async def publish_assignment(self, owner: str, call_id: str, agent_id: str, relax_step: int = 0) -> None:
        """Tell the owner's controller that the router gave the call to the agent."""
        ...

    async def publish_desk_event(self, origin: str, agent_id: str, event: dict[str, Any]) -> None:
        """Share an event for an agent's desk with every controller's event streams."""
        ...

    # -- flags ----------------------------------------------------------------------------
    async def flags(self) -> dict[str, str]:
        """The operator switches that are set."""
        ...

    async def set_flag(self, name: str, value: str | None) -> None:
        """Set the switch, or clear it when ``value`` is None or empty."""
        ...

    async def save_call(self, owner: str, state: dict[str, str]) -> None:
        """Save a call's state-machine value (``calls.state.to_dict``) with its owner."""

    async def forget_call(self, call_id: str) -> None:
        """Drop a finished call's saved state."""

    async def held_calls(self) -> list[tuple[str, dict[str, str]]]:
        """(owner, saved state) of every call held, sorted by call id."""

    async def saved_call(self, call_id: str) -> dict[str, str] | None:
        """One call's saved state (without its owner), or None."""

    async def save_call_part(self, call_id: str, part: str, value: str) -> None:
        """Add ``part`` (e.g. the three-party value) to a call's saved state, if it is still held."""


class RecordSink(Protocol):
    """Where a finished call's record and events go (``store.RecordWriter``: the database,
    or a durable spool while it is down)."""

    async def write(self, record: CallRecord, events: Iterable[CallEvent]) -> Any: ...


class AgentEvents(Protocol):
    """Agent state changes a call causes (``agent_desk.AgentService``)."""

    async def ringing(self, agent_id: str, call_id: str) -> None: ...
    async def answered(self, agent_id: str) -> None: ...
    async def call_ended(self, agent_id: str, policy: QueuePolicy, answered_at: float) -> None: ...
    async def released(self, agent_id: str) -> None: ...
    async def missed(self, agent_id: str, policy: QueuePolicy) -> bool: ...
    async def settle(self, agent_id: str) -> Any: ...


class OfferPath(Protocol):
    """How a queued call reaches an agent (``routing.offers.Offers``)."""

    def fast_offer(self, call: QueuedCall) -> Assignment | None: ...
    def confirm(self, call: QueuedCall, agent_id: str) -> "asyncio.Task[bool]": ...
    async def enqueue(self, call: QueuedCall) -> None: ...


class Rings(Protocol):
    """The rings this controller started (``sessions.registry.CallRegistry``)."""

    def withdraw(self, agent_id: str) -> None: ...


class Media(Protocol):
    """File names Asterisk plays and records (``sessions.media.MediaPaths``)."""

    def prompt_path(self, name: str, language: str) -> str: ...
    def recording_path(self, call_id: str) -> str: ...


class CallerFacts(Protocol):
    """What the IVR and the waiting announcements are told (``sessions.facts.CallerFacts``)."""

    async def repeat_calls(self, caller: str, now: float) -> int: ...
    async def flags(self) -> dict[str, str]: ...
    async def waiting_figures(self, call: QueuedCall) -> tuple[int, int]: ...


PlaceCallback = Callable[[str, str], Awaitable[None]]
