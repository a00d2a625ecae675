"""What the supervision routes need: start, stop and list listen/whisper/barge sessions
(``hotline.supervision.spy.Supervision`` in the controller; ``InMemorySupervision`` in tests
and as the default of an API built without a controller)."""
from __future__ import annotations

from typing import Protocol

from recordings.model import SupervisorSession


class SupervisionDesk(Protocol):
    async def start(self, supervisor: str, phone: str, agent_id: str, mode: str) -> SupervisorSession: ...
    async def stop(self, session_id: int, reason: str = "stopped") -> bool: ...
    def sessions(self) -> list[SupervisorSession]: ...
