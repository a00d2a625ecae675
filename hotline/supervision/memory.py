"""``InMemorySupervision``: the supervision port without Asterisk, with the real rules (a
known phone, a call taker on a call, one session per supervisor, modes from the table), for
API tests and as the default of an API built without a controller."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Collection

from hotline.api.ports import IllegalOperation, NoCurrentCall, NotFound
from hotline.supervision.modes import MODES
from recordings.model import SupervisorSession


class InMemorySupervision:
    def __init__(self, phones: Collection[str] = (), talking: Callable[[str], str | None] = lambda agent: None,
                 clock: Callable[[], float] = lambda: 0.0) -> None:
        self.phones = set(phones)
        self.talking = talking  # agent id -> their call id, or None
        self.clock = clock
        self.active: dict[int, SupervisorSession] = {}
        self.ended: list[tuple[SupervisorSession, str]] = []
        self._next = 1

    async def start(self, supervisor: str, phone: str, agent_id: str, mode: str) -> SupervisorSession:
        if mode not in MODES:
            raise IllegalOperation(f"mode {mode!r} is not one of {', '.join(MODES)}", "invalid_request")
        if phone not in self.phones:
            raise NotFound(f"no supervisor phone {phone!r}")
        call_id = self.talking(agent_id)
        if call_id is None:
            raise NoCurrentCall(f"agent {agent_id} has no call talking")
        for old in [s for s in self.active.values() if s.supervisor == supervisor]:
            await self.stop(old.id or 0, "mode changed")
        session = SupervisorSession(supervisor, phone, agent_id, call_id, mode,  # type: ignore[arg-type]
                                    f"PJSIP/{agent_id}-00000001",
                                    datetime.fromtimestamp(self.clock(), tz=timezone.utc), id=self._next)
        self._next += 1
        self.active[session.id or 0] = session
        return session

    async def stop(self, session_id: int, reason: str = "stopped") -> bool:
        session = self.active.pop(session_id, None)
        if session is None:
            return False
        self.ended.append((session, reason))
        return True

    def sessions(self) -> list[SupervisorSession]:
        return list(self.active.values())
