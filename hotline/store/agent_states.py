"""The agents' state log in the database: one row per change of shift state.

Why a log beside Redis: Redis holds the live state, and a Redis that comes back empty (no
persistence, a failover to an empty replica) while the controller restarted too would leave
only the roster's ``login: true`` seats. The log keeps, durably, who was logged in, who was
paused and why, so re-seeding (``hotline/live/reseed.py``) puts every agent back as they were;
the reports read the same rows for login time and pauses.

What is logged: the changes ``AgentService`` applies (log in, ready, pause with its reason,
on a call, wrap-up, log out, forced out). Reservations and rings are offers, not shift
states: they are in the call's events, not here.

``AgentStateLog`` never blocks the event loop nor a call: ``note`` appends to a buffer that
a task owned by the controller writes every second; while the database is down the rows
stay buffered (bounded; the oldest are dropped with a warning past the bound) and go in, in
order, when it answers.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from agents.state import AgentRecord, AgentState
from calls.records import utc
from sql.schema import agent_states

log = logging.getLogger(__name__)
FLUSH_EVERY = 1.0
MAX_BUFFERED = 100_000  # about a day of a 500-seat hotline's changes


@dataclass(frozen=True)
class StateChange:
    agent_id: str
    at: float
    state: str
    reason: str = ""
    call_id: str = ""

    @classmethod
    def of(cls, record: AgentRecord, at: float) -> StateChange:
        reason = record.pause_reason or "" if record.state is AgentState.PAUSED else ""
        return cls(record.agent_id, at, record.state.value, reason[:64], (record.call_id or "")[:64])


class AgentStateStore:
    """Synchronous access to the ``agent_states`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, changes: Iterable[StateChange]) -> None:
        rows = [{"agent_id": c.agent_id, "at": utc(c.at), "state": c.state, "reason": c.reason,
                 "call_id": c.call_id} for c in changes]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(agent_states.insert(), rows)

    def last(self, since: float) -> dict[str, AgentRecord]:
        """Each agent's latest logged state at or after ``since`` (epoch), as a live record
        (state and pause reason; the times are the log's)."""
        latest = (select(agent_states.c.agent_id, func.max(agent_states.c.id).label("id"))
                  .where(agent_states.c.at >= utc(since)).group_by(agent_states.c.agent_id).subquery())
        q = select(agent_states).join(latest, agent_states.c.id == latest.c.id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
        return {r["agent_id"]: _record(r) for r in rows}

    def history(self, agent_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(agent_states).where(agent_states.c.agent_id == agent_id).order_by(agent_states.c.id)
            return [dict(r) for r in conn.execute(q).mappings()]


def _record(row: dict[str, Any]) -> AgentRecord:
    try:
        state = AgentState(row["state"])
    except ValueError:
        state = AgentState.AVAILABLE  # a state of a newer version: on shift, at least
    return AgentRecord(row["agent_id"], state, since=row["at"].timestamp(),
                       pause_reason=row["reason"] or None if state is AgentState.PAUSED else None)


class AgentStateLog:
    """Buffers state changes and writes them in the background (see the module)."""

    def __init__(self, store: AgentStateStore, max_buffered: int = MAX_BUFFERED) -> None:
        self.store = store
        self._buffer: deque[StateChange] = deque()
        self._max = max_buffered
        self._dropped = 0
        self._failing = False

    def note(self, record: AgentRecord, at: float) -> None:
        """Log the agent's new state (never blocks, never raises)."""
        if len(self._buffer) >= self._max:
            self._buffer.popleft()
            self._dropped += 1
            if self._dropped in (1, 1000) or self._dropped % 100_000 == 0:
                log.warning("agent state log: database away too long, %d oldest change(s) dropped", self._dropped)
        self._buffer.append(StateChange.of(record, at))

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self) -> bool:
        """Write what is buffered, in order; False (rows kept) while the database is down."""
        if not self._buffer:
            return True
        batch = list(self._buffer)
        try:
            await asyncio.to_thread(self.store.append, batch)
        except (SQLAlchemyError, OSError) as exc:
            if not self._failing:
                log.error("agent state log: database unavailable (%s); %d change(s) kept until it answers",
                          exc, len(batch))
            self._failing = True
            return False
        for _ in batch:
            self._buffer.popleft()
        if self._failing:
            log.info("agent state log: database answers again, buffered changes written")
        self._failing = False
        return True

    async def last(self, since: float) -> dict[str, AgentRecord]:
        """The latest logged state of every agent (buffered changes first written); empty
        when the database does not answer: re-seeding then goes by the roster."""
        await self.flush()
        try:
            return await asyncio.to_thread(self.store.last, since)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("agent state log unreadable (%s): agents re-seeded without it", exc)
            return {}

    async def run(self) -> None:
        """Write the buffer every second, until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY)
                await self.flush()
        finally:
            if self._buffer:
                await asyncio.shield(self.flush())
