"""``Supervision``: a supervisor listens to, whispers to or barges into a call taker's call.

Why the controller alone starts it: ChanSpy is powerful (any channel, a prefix matches many)
and must never be reachable from a phone. The controller checks who asks (the API: the
supervisor role), finds the call taker's channel of the call it holds, and originates the
supervisor's own phone into the ``hotline-spy`` context with the channel's full name and the
options from ``MODES`` (``u``: that exact channel, never a prefix). Every session is written to
the audit table (``supervisor_sessions``) when it starts and closed when the supervisor's
channel ends, with why; a new mode is a new session (the old one is hung up).
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Collection

from hotline.api.ports import IllegalOperation, NoCurrentCall, NotFound
from hotline.asterisk.ami_events import Hangup, OriginateResult
from hotline.supervision.modes import MODES
from hotline.tasks import TaskOwner
from recordings.model import SupervisorSession
from recordings.store import SupervisorSessionStore

log = logging.getLogger(__name__)
CONTEXT = "hotline-spy"
RING_SECONDS = 30


@dataclass
class Spying:
    session: SupervisorSession
    channel_id: str


class Supervision:
    def __init__(self, ami: Any, registry: Any, rooms: Any, store: SupervisorSessionStore,
                 phones: Callable[[], Collection[str]], clock: Callable[[], float], tasks: TaskOwner) -> None:
        self._tasks = tasks
        self._ami = ami
        self._registry = registry
        self._rooms = rooms
        self._store = store
        self._phones = phones  # the supervisors' phone ids in force (agents/supervisors.yaml)
        self._clock = clock
        self.active: dict[str, Spying] = {}  # our ChannelId of the supervisor's leg -> its session
        self.handlers = {Hangup: self._on_hangup, OriginateResult: self._on_originate}

    def _target(self, agent_id: str) -> tuple[str, str]:
        """(call id, the call taker's channel name) of the agent's call held here."""
        for call_id, track in self._registry.tracks.items():
            if track.talking is not None and track.talking[0] == agent_id and track.agent_channel:
                return call_id, track.agent_channel
        for room in self._rooms.rooms.values():
            if room.agent_id == agent_id and room.agent_place != "gone" and room.agent:
                return room.call_id, room.agent
        raise NoCurrentCall(f"agent {agent_id} has no call talking on this controller")

    async def start(self, supervisor: str, phone: str, agent_id: str, mode: str) -> SupervisorSession:
        """Ring the supervisor's phone; when it answers, it hears (and per mode speaks into)
        the agent's call. Raises NotFound (no such phone), NoCurrentCall, IllegalOperation."""
        if mode not in MODES:
            raise IllegalOperation(f"mode {mode!r} is not one of {', '.join(MODES)}", "invalid_request")
        if phone not in self._phones():
            raise NotFound(f"no supervisor phone {phone!r} (agents/supervisors.yaml)")
        call_id, channel = self._target(agent_id)
        for spying in list(self.active.values()):  # one session per supervisor: a new mode replaces the old
            if spying.session.supervisor == supervisor:
                await self.stop(spying.session.id or 0, "mode changed")
        channel_id = f"spy.{uuid.uuid4().hex[:16]}"
        session = await asyncio.to_thread(self._store.start, SupervisorSession(
            supervisor, phone, agent_id, call_id, mode, channel,  # type: ignore[arg-type]
            datetime.fromtimestamp(self._clock(), tz=timezone.utc)))
        self.active[channel_id] = Spying(session, channel_id)
        try:
            await self._ami.originate(f"PJSIP/{phone}", CONTEXT, "s",
                                      {"HL_SPY_TARGET": channel, "HL_SPY_OPTIONS": MODES[mode]},
                                      caller_id=f'"{mode} {agent_id}" <{agent_id}>', timeout_ms=RING_SECONDS * 1000,
                                      channel_id=channel_id)
        except Exception as exc:
            self.active.pop(channel_id, None)
            await self._end(session, f"originate failed: {exc}"[:32])
            raise IllegalOperation(f"the supervisor's phone could not be rung: {exc}", "unavailable") from exc
        log.warning("supervisor %s %s agent %s (call %s) from phone %s: session %s", supervisor, mode, agent_id,
                    call_id, phone, session.id)
        return session

    async def stop(self, session_id: int, reason: str = "stopped") -> bool:
        """Hang up the supervisor's leg of a session (its end is written when it is gone)."""
        for channel_id, spying in list(self.active.items()):
            if spying.session.id == session_id:
                try:
                    await self._ami.hangup(channel_id)
                except Exception as exc:  # already gone: close the row ourselves
                    log.info("spy leg %s: %s", channel_id, exc)
                    self.active.pop(channel_id, None)
                    await self._end(spying.session, reason)
                return True
        return False

    def sessions(self) -> list[SupervisorSession]:
        return [s.session for s in self.active.values()]

    async def _end(self, session: SupervisorSession, reason: str) -> None:
        if session.id is None:
            return
        try:
            await asyncio.to_thread(self._store.end, session.id,
                                    datetime.fromtimestamp(self._clock(), tz=timezone.utc), reason)
        except Exception as exc:
            log.error("supervision session %s: end not written (%s)", session.id, exc)

    def _on_hangup(self, event: Hangup) -> None:
        spying = self.active.pop(event.uniqueid, None)
        if spying is not None:
            self._tasks.spawn(self._end(spying.session, "ended"), f"spy-end-{spying.session.id}")

    def _on_originate(self, event: OriginateResult) -> None:
        if event.success:
            return
        spying = self.active.pop(event.uniqueid, None)
        if spying is not None:
            self._tasks.spawn(self._end(spying.session, f"phone: {event.reason}"[:32]), f"spy-end-{spying.session.id}")
