"""Where the live state lives in Redis: every key and channel name, in one place.

Each hotline instance has its own prefix (``hl:<instance>:``), so a test instance and a demo
share one Redis without touching each other. The controller, the CLI and the test harness
all name keys through ``LiveKeys``; the Lua scripts of ``hotline.live.redis_state`` receive the
prefix and build ``<prefix>call:<id>`` and ``<prefix>agent:<id>`` themselves, from the same
``CALL`` and ``AGENT`` parts (a unit test checks the scripts use them).
"""
from __future__ import annotations

from dataclasses import dataclass

AGENT = "agent"   # <prefix>agent:<id>   hash: one agent's record (agents.state.AgentRecord)
CALL = "call"     # <prefix>call:<id>    hash: one waiting or offered call (QueuedCall)


@dataclass(frozen=True)
class LiveKeys:
    prefix: str

    @classmethod
    def for_instance(cls, instance: str) -> "LiveKeys":
        return cls(f"hl:{instance}:")

    def agent(self, agent_id: str) -> str:
        return f"{self.prefix}{AGENT}:{agent_id}"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}{CALL}:{call_id}"

    def call_state(self, call_id: str) -> str:
        """Hash: the call's state machine value (calls.state.to_dict) and its owner, saved at
        every step so a surviving controller can finish the call of one that died."""
        return f"{self.prefix}callstate:{call_id}"

    @property
    def held(self) -> str:
        """Set of the ids of the calls whose state is saved (held by some controller)."""
        return f"{self.prefix}held"

    @property
    def agents(self) -> str:
        """Set of the ids of every agent with a record."""
        return f"{self.prefix}agents"

    @property
    def waiting(self) -> str:
        """Set of the ids of the calls waiting for an agent."""
        return f"{self.prefix}waiting"

    @property
    def leader(self) -> str:
        """The router's lease: the id of the controller that routes for all."""
        return f"{self.prefix}leader"

    def alive(self, controller_id: str) -> str:
        """A controller's heartbeat (expires when it stops renewing it)."""
        return f"{self.prefix}alive:{controller_id}"

    @property
    def flags(self) -> str:
        """Hash of operator switches, e.g. the IVR's emergency notice."""
        return f"{self.prefix}flags"

    @property
    def changed(self) -> str:
        """Pub/sub: something in the routing picture changed; routers wake."""
        return f"{self.prefix}changed"

    @property
    def control(self) -> str:
        """Pub/sub: commands to every controller (e.g. stop ringing an agent who paused)."""
        return f"{self.prefix}control"

    @property
    def desk(self) -> str:
        """Pub/sub: events for an agent's desk (a three-party step, why an agency was not
        reached), from the controller holding the call to every controller's event streams."""
        return f"{self.prefix}desk"

    def owner(self, controller_id: str) -> str:
        """Pub/sub: assignments for the calls one controller holds."""
        return f"{self.prefix}owner:{controller_id}"

    @property
    def pattern(self) -> str:
        """Every key of this instance (for SCAN in clean-ups)."""
        return f"{self.prefix}*"
