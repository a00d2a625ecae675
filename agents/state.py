"""The agent state machine: one record per agent, typed events in, a new record out.

Everything that affects an agent's state lives in this file (h11 style): the
transition table ``TRANSITIONS`` is data, the few rules that depend on more
than (state, event) are listed here and implemented next to it, and there is
no I/O and no clock: ``now`` is always passed in. The shell stores the
record in a Redis hash (``to_dict``/``from_dict``) and logs, never crashes
on, ``IllegalTransition``.

States::

    logged_out -LogIn-> available -Reserve-> reserved -Ring-> ringing -Answer-> on_call
    on_call -Hangup-> wrap_up -WrapUpDone-> available      (or paused, if a pause is pending)
    wrap_up -EndWrapUp-> available                           ("ready now", before wrap_until)
    reserved -Answer-> on_call                              (the answer came before the ring was noted)
    reserved/ringing -Miss-> available, or paused("rona") after N consecutive misses
    reserved/ringing -Cancel-> available                   (caller gone, claim dropped: no miss)
    available/reserved/ringing/paused -Pause-> paused      (the shell cancels any ring)
    on_call/wrap_up -Pause-> same state, pause pending     (takes effect when wrap-up ends)
    paused -Unpause-> available
    any state -ForceLogOut-> logged_out                    (an operator's override, with a reason)

Rules beyond the table:

1. RONA: a Miss adds one to ``misses``; when it reaches the call's queue's
   ``max_misses_before_pause`` (default 3) the agent goes to ``paused`` with
   reason "rona" instead of ``available``. Answer resets the count, so does
   Unpause (a supervisor or the agent confirmed presence).
2. Wrap-up: Hangup starts the wrap-up of the *call's* queue
   (``wrapup_seconds``), whatever other queues the agent serves. The agent
   is one record, so it is not available to any queue before ``wrap_until``:
   WrapUpDone, and a Reserve straight from wrap-up, are illegal before it.
3. "Rings between add and pause" cannot happen: ``paused`` is never
   available, Ring is legal only from ``reserved``, and a Pause while
   reserved or ringing wins (the shell must cancel the ring).
4. A pause requested during a call or wrap-up is kept in ``pause_reason``
   and applied when wrap-up ends; Unpause before then cancels it.
5. ``busy_seconds`` (occupancy, for routing fairness) counts talk time plus
   the policy's wrap-up time, booked at Hangup (wrap-up has a fixed length,
   so it stays right even if the router claims the agent straight from an
   expired wrap-up); a LogOut during wrap-up gives back the unused part.
   LogIn starts a new shift: ``calls_taken`` and ``busy_seconds`` restart.
6. No agent can be stuck: ForceLogOut is legal in every state, even ``on_call``
   (the shell uses it when a controller died mid-call and the operator or the
   sweep knows the call is gone). It unbinds the agent from any call; the
   shell logs who forced it and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from acd.model import QueuePolicy

RONA_REASON = "rona"


class AgentState(StrEnum):
    """Where an agent is; the values are what Redis stores."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


# -- events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogIn:
    """The agent starts a shift."""


@dataclass(frozen=True, slots=True)
class LogOut:
    """The agent ends a shift (not allowed in the middle of a call)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """The agent (or the system) stops taking calls, for ``reason``."""

    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a pause needs a non-empty reason")


@dataclass(frozen=True, slots=True)
class Unpause:
    """The agent takes calls again (or cancels a pending pause)."""


@dataclass(frozen=True, slots=True)
class Reserve:
    """The router claimed the agent for ``call_id`` (of ``queue``, when known)."""

    call_id: str
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class Ring:
    """The agent's phone started ringing."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The agent answered."""


@dataclass(frozen=True, slots=True)
class Miss:
    """Ring-no-answer (or the endpoint could not be reached)."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The offer was withdrawn before an answer (caller hung up, claim lost): not a miss."""


@dataclass(frozen=True, slots=True)
class Hangup:
    """The call the agent was on ended; wrap-up starts."""


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    """Wrap-up time is over (the shell's timer, or ``settle``)."""


@dataclass(frozen=True, slots=True)
class EndWrapUp:
    """The agent ends the wrap-up before its time ("ready now" on the desk), where the call's
    queue lets wrap-up end early; the shell checks the queue and the work order first."""


@dataclass(frozen=True, slots=True)
class ForceLogOut:
    """An operator takes the agent out of whatever state they are in (rule 6)."""

    reason: str


Event = (LogIn | LogOut | Pause | Unpause | Reserve | Ring | Answer | Miss | Cancel | Hangup | WrapUpDone | EndWrapUp
         | ForceLogOut)

S = AgentState

# The whole state machine, as data: TRANSITIONS[state][event type] -> new state.
# Rules 1 and 4 (RONA, pending pause) may turn "available" into "paused".
_FORCE = {ForceLogOut: S.LOGGED_OUT}  # rule 6: legal in every state
TRANSITIONS: Mapping[AgentState, Mapping[type, AgentState]] = {
    S.LOGGED_OUT: {LogIn: S.AVAILABLE, **_FORCE},
    S.AVAILABLE: {Reserve: S.RESERVED, Pause: S.PAUSED, LogOut: S.LOGGED_OUT, **_FORCE},
    S.RESERVED: {Ring: S.RINGING, Answer: S.ON_CALL, Miss: S.AVAILABLE, Cancel: S.AVAILABLE, Pause: S.PAUSED,
                 LogOut: S.LOGGED_OUT, **_FORCE},
    S.RINGING: {Answer: S.ON_CALL, Miss: S.AVAILABLE, Cancel: S.AVAILABLE, Pause: S.PAUSED, LogOut: S.LOGGED_OUT,
                **_FORCE},
    S.ON_CALL: {Hangup: S.WRAP_UP, Pause: S.ON_CALL, Unpause: S.ON_CALL, **_FORCE},
    S.WRAP_UP: {WrapUpDone: S.AVAILABLE, EndWrapUp: S.AVAILABLE, Reserve: S.RESERVED, Pause: S.WRAP_UP,
                Unpause: S.WRAP_UP, LogOut: S.LOGGED_OUT, **_FORCE},
    S.PAUSED: {Unpause: S.AVAILABLE, Pause: S.PAUSED, LogOut: S.LOGGED_OUT, **_FORCE},
}

# States in which the agent is bound to a call (call_id is set).
WITH_CALL = frozenset({S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP})


class IllegalTransition(Exception):
    """An event that is not allowed in the agent's current state.

    The shell logs it and keeps the old record: it means a late or duplicate
    event, or a bug in the caller, never a reason to crash the controller.
    """

    def __init__(self, agent_id: str, state: AgentState, event: Event, detail: str = "") -> None:
        legal = ", ".join(sorted(t.__name__ for t in TRANSITIONS[state])) or "none"
        why = f": {detail}" if detail else ""
        super().__init__(f"agent {agent_id}: {type(event).__name__} is illegal in state {state.value}{why} (legal: {legal})")
        self.agent_id = agent_id
        self.state = state
        self.event = event


class BadRecord(ValueError):
    """A stored agent record cannot be decoded; the message names the agent and field."""


# -- the record ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One agent's live state.

    ``since`` is when the current state began (for ``available``: when the
    agent became idle, the router's ``idle_since``). ``pause_reason`` is the
    reason while paused, or a pause pending during on_call/wrap_up.
    ``wrap_until`` is set from Hangup until wrap-up ends; ``call_id`` and
    ``queue`` while bound to a call.
    """

    agent_id: str
    state: AgentState = S.LOGGED_OUT
    since: float = 0.0
    misses: int = 0
    pause_reason: str | None = None
    wrap_until: float | None = None
    call_id: str | None = None
    calls_taken: int = 0
    busy_seconds: float = 0.0
    queue: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The record as a Redis hash: strings only, ``""`` for None, floats round-trip exactly."""
        return {
            "agent_id": self.agent_id,
            "state": self.state.value,
            "since": repr(float(self.since)),
            "misses": str(self.misses),
            "pause_reason": self.pause_reason or "",
            "wrap_until": "" if self.wrap_until is None else repr(float(self.wrap_until)),
            "call_id": self.call_id or "",
            "calls_taken": str(self.calls_taken),
            "busy_seconds": repr(float(self.busy_seconds)),
            "queue": self.queue or "",
        }

    @classmethod
    def from_dict(cls, fields: Mapping[str, str]) -> AgentRecord:
        """Decode a Redis hash written by ``to_dict`` (missing optional fields = defaults).

        Raises ``BadRecord`` naming the agent and the field on any bad value.
        """
        agent_id = fields.get("agent_id") or ""
        if not agent_id:
            raise BadRecord("agent record without agent_id")
        read = _Reader(agent_id, fields)
        return cls(
            agent_id=agent_id,
            state=read.state(),
            since=read.number("since", 0.0),
            misses=read.count("misses"),
            pause_reason=read.text("pause_reason"),
            wrap_until=read.optional_number("wrap_until"),
            call_id=read.text("call_id"),
            calls_taken=read.count("calls_taken"),
            busy_seconds=read.number("busy_seconds", 0.0),
            queue=read.text("queue"),
        )


class _Reader:
    """Field decoders for ``AgentRecord.from_dict`` with errors that name the field."""

    def __init__(self, agent_id: str, fields: Mapping[str, str]) -> None:
        self.agent_id, self.fields = agent_id, fields

    def _fail(self, name: str, problem: str) -> BadRecord:
        return BadRecord(f"agent {self.agent_id}: field {name!r} {problem}: {self.fields.get(name)!r}")

    def state(self) -> AgentState:
        try:
            return AgentState(self.fields.get("state") or S.LOGGED_OUT.value)
        except ValueError:
            raise self._fail("state", "is not a known state") from None

    def optional_number(self, name: str) -> float | None:
        raw = self.fields.get(name) or ""
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise self._fail(name, "is not a number") from None
        if not math.isfinite(value):
            raise self._fail(name, "is not finite")
        return value

    def number(self, name: str, default: float) -> float:
        value = self.optional_number(name)
        return default if value is None else value

    def count(self, name: str) -> int:
        raw = self.fields.get(name) or "0"
        if not raw.isdigit():
            raise self._fail(name, "is not a non-negative integer")
        return int(raw)

    def text(self, name: str) -> str | None:
        return self.fields.get(name) or None


# -- queries ------------------------------------------------------------------


def is_available(record: AgentRecord, now: float) -> bool:
    """Whether the router may offer this agent a call at ``now``.

    Idle agents are; so are agents whose wrap-up has ended (``wrap_until <=
    now``) unless a pause is pending. Paused agents never are.
    """
    if record.state is S.AVAILABLE:
        return True
    return record.state is S.WRAP_UP and _wrap_over(record, now) and record.pause_reason is None


def idle_since(record: AgentRecord) -> float:
    """When the agent became free: for the router's longest-idle rule."""
    if record.state is S.WRAP_UP and record.wrap_until is not None:
        return record.wrap_until
    return record.since


def _wrap_over(record: AgentRecord, now: float) -> bool:
    return record.wrap_until is None or now >= record.wrap_until


# -- transitions --------------------------------------------------------------


def apply(record: AgentRecord, event: Event, now: float, policy: QueuePolicy | None = None) -> AgentRecord:
    """Return the record after ``event`` at ``now``; the input is not changed.

    ``policy`` is the queue policy of the call concerned: Hangup reads its
    ``wrapup_seconds``, Miss its ``max_misses_before_pause``; other events
    ignore it. Without one, ``QueuePolicy`` defaults apply.
    Raises ``IllegalTransition`` when the table or a guard forbids the event.
    """
    target = TRANSITIONS[record.state].get(type(event))
    if target is None:
        raise IllegalTransition(record.agent_id, record.state, event)
    guard = _GUARDS.get((record.state, type(event)))
    problem = guard(record, now) if guard else None
    if problem:
        raise IllegalTransition(record.agent_id, record.state, event, problem)
    return _EFFECTS[type(event)](record, event, now, target, policy or _DEFAULT_POLICY)


def settle(record: AgentRecord, now: float) -> AgentRecord:
    """Apply the time-driven transition, if due: wrap-up ends at ``wrap_until``.

    Lets the shell (or the simulator) roll a record forward on a tick
    without checking the state itself.
    """
    if record.state is S.WRAP_UP and _wrap_over(record, now):
        return apply(record, WrapUpDone(), now)
    return record


_DEFAULT_POLICY = QueuePolicy(name="default")


def _wrap_guard(record: AgentRecord, now: float) -> str | None:
    if not _wrap_over(record, now):
        return f"wrap-up of queue {record.queue or '?'} runs until {record.wrap_until}"
    return None


def _reserve_from_wrap_guard(record: AgentRecord, now: float) -> str | None:
    if record.pause_reason is not None:
        return f"pause {record.pause_reason!r} is pending"
    return _wrap_guard(record, now)


_GUARDS: Mapping[tuple[AgentState, type], Callable[[AgentRecord, float], str | None]] = {
    (S.WRAP_UP, WrapUpDone): _wrap_guard,
    (S.WRAP_UP, Reserve): _reserve_from_wrap_guard,
}


# Effects: how each event changes the record's fields. Each gets the target
# state from the table and returns the new record.
Effect = Callable[[AgentRecord, Event, float, AgentState, QueuePolicy], AgentRecord]


def _unbound(record: AgentRecord, state: AgentState, now: float, **changes: Any) -> AgentRecord:
    """The record in ``state`` since ``now`` with no call attached."""
    return replace(record, state=state, since=now, call_id=None, queue=None, wrap_until=None, **changes)


def _log_in(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    return _unbound(record, target, now, misses=0, pause_reason=None, calls_taken=0, busy_seconds=0.0)


def _log_out(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    unused_wrap = max((record.wrap_until or now) - now, 0.0) if record.state is S.WRAP_UP else 0.0
    return _unbound(record, target, now, pause_reason=None, busy_seconds=max(record.busy_seconds - unused_wrap, 0.0))


def _pause(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    assert isinstance(event, Pause)
    if record.state in (S.ON_CALL, S.WRAP_UP):
        return replace(record, pause_reason=event.reason)  # rule 4: pending until wrap-up ends
    return _unbound(record, target, now, pause_reason=event.reason)


def _unpause(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    if record.state in (S.ON_CALL, S.WRAP_UP):
        return replace(record, pause_reason=None)  # cancel the pending pause
    return _unbound(record, target, now, pause_reason=None, misses=0)


def _reserve(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    assert isinstance(event, Reserve)
    return replace(record, state=target, since=now, call_id=event.call_id, queue=event.queue, wrap_until=None)


def _ring(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    return replace(record, state=target, since=now)


def _answer(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    return replace(record, state=target, since=now, misses=0, calls_taken=record.calls_taken + 1)


def _miss(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    misses = record.misses + 1
    if misses >= policy.max_misses_before_pause:  # rule 1: RONA
        return _unbound(record, S.PAUSED, now, misses=misses, pause_reason=RONA_REASON)
    return _unbound(record, target, now, misses=misses)


def _cancel(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    return _unbound(record, target, now)


def _hangup(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    talk = max(now - record.since, 0.0)
    wrap = policy.wrapup_seconds  # rule 2: the call's queue decides, for every queue
    return replace(record, state=target, since=now, wrap_until=now + wrap, busy_seconds=record.busy_seconds + talk + wrap)


def _wrap_up_done(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    free_at = record.wrap_until if record.wrap_until is not None else now
    if record.pause_reason is not None:  # rule 4
        return _unbound(record, S.PAUSED, free_at)
    return _unbound(record, target, free_at)


def _end_wrap_up(record: AgentRecord, event: Event, now: float, target: AgentState, policy: QueuePolicy) -> AgentRecord:
    """Free now: the unused wrap-up no longer counts as busy (occupancy, fairness)."""
    unused = max((record.wrap_until or now) - now, 0.0)
    busy = max(record.busy_seconds - unused, 0.0)
    if record.pause_reason is not None:  # rule 4: a pending pause takes effect instead
        return _unbound(record, S.PAUSED, now, busy_seconds=busy)
    return _unbound(record, target, now, busy_seconds=busy)


_EFFECTS: Mapping[type, Effect] = {
    LogIn: _log_in,
    LogOut: _log_out,
    Pause: _pause,
    Unpause: _unpause,
    Reserve: _reserve,
    Ring: _ring,
    Answer: _answer,
    Miss: _miss,
    Cancel: _cancel,
    Hangup: _hangup,
    WrapUpDone: _wrap_up_done,
    EndWrapUp: _end_wrap_up,
    ForceLogOut: _log_out,
}
