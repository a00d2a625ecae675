"""The call state machine: one value per citizen call, typed events in, a new value out.

Everything that decides where a call is in its life lives in this file (h11's Rule 1, as
``agents/state.py`` does for agents): the closed vocabularies ``CallState``, ``Outcome``
and ``Source``; the events; the transition table ``TRANSITIONS`` and the outcome table
``OUTCOMES``, both data; the two guards and the effects. There is no I/O and no clock:
every event carries ``at``, the moment it happened on the caller's clock. The shell feeds
what the IVR, the router and Asterisk tell it, does what the new value implies, and stores
the value after every step (``to_dict``/``from_dict``: a flat str->str Redis hash) with the
step itself (``event_to_dict``), so a restarted controller can take a call over. It logs,
never crashes on, ``IllegalTransition``: that means a late or duplicate event, or a bug in
the shell.

States (the values are what is stored; ``waiting`` and ``offered`` are the strings the
claim scripts in hotline/live/redis_state.py already write)::

    in_ivr -Queued-> waiting -Offered-> offered -Answered-> talking -Ended/CallerLeft-> ended
    in_ivr -IvrEnded/CallerLeft/FellBack-> ended     (message played, hung up, controller failed)
    in_ivr -Transferred-> ended                      (handed to an agency of the directory)
    offered -DialBegan-> offered                      (the agent's phone is ringing)
    offered -Missed/Withdrawn-> waiting               (back at the head of its line)
    waiting/offered -CallerLeft/FellBack-> ended
    talking -SurveyStarted-> survey -Ended/CallerLeft-> ended    (the agent hung up first)
    waiting -CallbackOffered-> waiting -CallbackBooked-> callback_waiting    (keeps its place)
    callback_waiting -Offered-> callback_offered      (the agent's leg is ringing)
    callback_offered -CallbackPlaced-> callback_dialling    (agent answered: citizen dialled)
    callback_offered -Missed/Withdrawn-> callback_waiting
    callback_dialling -Answered-> talking             (the citizen answered)
    callback_dialling -CallbackRetry-> callback_waiting, -CallbackFailed-> ended

A call is created by ``start(Arrived(...))`` in ``in_ivr``; ``replay`` folds a stored log.

Rules beyond the table:

1. Outcome: ``in_progress`` until a step in ``OUTCOMES`` decides it, by the state the call
   was in and the event, never by flags. A call is ``ended`` exactly when its outcome is in
   ``FINAL_OUTCOMES``. Once an agent (or, on a callback, the citizen) answered, the call is
   ``answered`` however it ends. Hanging up in the IVR is ``ivr_hangup``; the IVR playing
   its message and hanging up is ``ivr_end``; leaving while waiting or ringing is
   ``abandoned``. Booking a callback gives ``callback_requested`` (the record of the
   inbound leg is written with it), a try the citizen did not answer with tries left
   ``callback_retry`` (that try's record), and none left ``callback_failed``.
2. Fallback only before an answer: ``FellBack`` (the session failed; the dialplan's
   app_queue takes the caller, and calls/queue_log.py later stores that call with source
   ``fallback``) is legal in in_ivr, waiting and offered. A call already answered is never
   handed to the fallback, so the citizen is never served twice.
3. Head of the line: nothing after ``Queued`` moves ``queued_at``, the call's place. A
   ``Missed`` (ring-no-answer) counts in ``misses`` and excludes the agent from this call; a
   ``Withdrawn`` offer (the claim did not hold, or the agent paused while ringing) counts no
   miss and excludes the agent only when ``exclude`` says it was rung.
4. ``agent_id`` is set exactly while an agent is bound to the call (``WITH_AGENT``):
   ringing, talking, or on a callback leg. ``answered_by`` keeps who answered, for the record.
5. The callback offer is made at most once per call, and a refused one (the caller's number
   may not be called back) uses that once; only an offer made and allowed can be booked.
6. A callback keeps its place (``queued_at``). ``attempts`` counts the tries placed;
   ``CallbackRetry`` forgets the exclusions (another agent or the same one may place the
   next try) and sets ``not_before``, before which the router (acd) takes no agent.
7. Time is the caller's: each ``at`` is stored as given, never reordered or clamped.
   ``since`` is when the current state began. ``ended_at`` is when the conversation, or the
   attempt to get one, ended: a survey comes after it, so ``Ended`` from the survey keeps it.
   On a callback, ``booked_at`` is the end of the inbound leg.

Records: the inbound leg's record takes its fields from the value (with ``booked_at`` as
its end when a callback was booked); each callback try is its own record, source
``callback``, written at ``CallbackRetry``/``CallbackFailed``/``Ended``.

Room for more: the legs of a three-party call (citizen, call taker, agency: consult,
conference, call taker left) will be a second table in this style, ``LEG_TRANSITIONS``
keyed by a ``LegState`` and its own leg events, owned by a call while it is ``talking``.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "CallState", "Outcome", "Source", "CallbackOffer", "FINAL_OUTCOMES", "BadCallData", "Event",
    "Arrived", "Queued", "IvrEnded", "Transferred", "CallbackOffered", "Offered", "DialBegan", "Answered",
    "Missed", "Withdrawn", "CallerLeft", "CallbackBooked", "CallbackPlaced", "CallbackRetry",
    "CallbackFailed", "SurveyStarted", "Ended", "FellBack", "EVENT_KINDS", "TRANSITIONS",
    "OUTCOMES", "WITH_AGENT", "ROUTABLE", "legal_events", "IllegalTransition", "Call", "start",
    "replay", "apply", "to_dict", "from_dict", "event_to_dict", "event_from_dict",
]


class CallState(StrEnum):
    """Where a call is; the values are what is stored."""

    IN_IVR = "in_ivr"
    QUEUED = "waiting"
    OFFERED = "offered"
    TALKING = "talking"
    SURVEY = "survey"
    CALLBACK_WAITING = "callback_waiting"
    CALLBACK_OFFERED = "callback_offered"
    CALLBACK_DIALLING = "callback_dialling"
    ENDED = "ended"


class Outcome(StrEnum):
    """How a call (or a callback try) turned out: the ``outcome`` column of the calls table."""

    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    IVR_HANGUP = "ivr_hangup"
    IVR_END = "ivr_end"
    TRANSFERRED = "transferred"  # handed by the IVR to an agency of the directory, who answered
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_RETRY = "callback_retry"
    CALLBACK_FAILED = "callback_failed"
    FALLBACK = "fallback"


class Source(StrEnum):
    """Who served the call a record is about: the ``source`` column of the calls table."""

    CONTROLLER = "controller"
    FALLBACK = "fallback"
    CALLBACK = "callback"


class CallbackOffer(StrEnum):
    """Whether the waiting caller was offered a callback (the waiting flow's ``offer_callback``)."""

    NO = "no"
    YES = "yes"
    REFUSED = "refused"


FINAL_OUTCOMES = frozenset({
    Outcome.ANSWERED, Outcome.ABANDONED, Outcome.IVR_HANGUP, Outcome.IVR_END, Outcome.TRANSFERRED,
    Outcome.CALLBACK_FAILED, Outcome.FALLBACK,
})


class BadCallData(ValueError):
    """Stored call or event fields that cannot be decoded; the message names the field."""


# -- events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a call at ``at`` (seconds, on the caller's clock).

    Every event checks its fields when built (types, finite times, names that a stored
    comma-separated set can hold), so what ``apply`` and storage see is well-formed.
    """

    at: float

    def __post_init__(self) -> None:
        problem = _event_problem(self)
        if problem:
            raise ValueError(f"{type(self).__name__}: {problem}")


@dataclass(frozen=True, slots=True)
class Arrived(Event):
    """The call reached a controller (its FastAGI request): the IVR starts."""

    call_id: str
    caller: str = ""
    dnis: str = ""
    source: Source = Source.CONTROLLER


@dataclass(frozen=True, slots=True)
class Queued(Event):
    """The IVR put the call in line for a person."""

    queue: str
    language: str
    skills: frozenset[str] = frozenset()
    priority: int = 0


@dataclass(frozen=True, slots=True)
class IvrEnded(Event):
    """The IVR played its closing message and hung up (``PlayAndHangup``)."""


@dataclass(frozen=True, slots=True)
class Transferred(Event):
    """The IVR handed the citizen to an agency of the directory (a ``transfer`` node), which
    answered: the hotline's part of the call is over."""

    agency: str = ""


@dataclass(frozen=True, slots=True)
class CallbackOffered(Event):
    """A waiting announcement offered a callback, or told the caller why not (``refused``)."""

    refused: bool = False


@dataclass(frozen=True, slots=True)
class Offered(Event):
    """An agent was taken for the call (claimed, or decided on the fast path) and is rung."""

    agent_id: str
    relax_step: int = 0


@dataclass(frozen=True, slots=True)
class DialBegan(Event):
    """The agent's leg exists and rings (AMI DialBegin)."""


@dataclass(frozen=True, slots=True)
class Answered(Event):
    """The agent answered (on a callback: the citizen answered)."""


@dataclass(frozen=True, slots=True)
class Missed(Event):
    """Ring-no-answer, busy or unreachable: the agent's miss (``status`` is DIALSTATUS)."""

    status: str = ""


@dataclass(frozen=True, slots=True)
class Withdrawn(Event):
    """The offer was taken back, not the agent's miss; ``exclude`` when the agent was rung."""

    reason: str = ""
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class CallerLeft(Event):
    """The citizen hung up."""


@dataclass(frozen=True, slots=True)
class CallbackBooked(Event):
    """The waiting caller accepted the callback and hung up; the call keeps its place."""


@dataclass(frozen=True, slots=True)
class CallbackPlaced(Event):
    """The agent answered the callback leg: the citizen's number is being dialled."""


@dataclass(frozen=True, slots=True)
class CallbackRetry(Event):
    """The citizen was not reached (``status``); the next try waits until ``not_before``."""

    not_before: float
    status: str = ""


@dataclass(frozen=True, slots=True)
class CallbackFailed(Event):
    """The citizen was not reached (``status``) and no try is left."""

    status: str = ""


@dataclass(frozen=True, slots=True)
class SurveyStarted(Event):
    """The agent hung up first; the caller stays for the satisfaction survey."""


@dataclass(frozen=True, slots=True)
class Ended(Event):
    """The answered call is over (the agent hung up, or the survey ended)."""


@dataclass(frozen=True, slots=True)
class FellBack(Event):
    """The session failed: the dialplan's app_queue fallback takes the caller."""

    reason: str = ""


# The stored names of the events (``kind``): a closed vocabulary, like the enums.
EVENT_KINDS: Mapping[str, type[Event]] = {
    "arrived": Arrived,
    "queued": Queued,
    "ivr_ended": IvrEnded,
    "transferred": Transferred,
    "callback_offered": CallbackOffered,
    "offered": Offered,
    "dial_began": DialBegan,
    "answered": Answered,
    "missed": Missed,
    "withdrawn": Withdrawn,
    "caller_left": CallerLeft,
    "callback_booked": CallbackBooked,
    "callback_placed": CallbackPlaced,
    "callback_retry": CallbackRetry,
    "callback_failed": CallbackFailed,
    "survey_started": SurveyStarted,
    "ended": Ended,
    "fell_back": FellBack,
}
_KIND_OF: Mapping[type[Event], str] = {cls: kind for kind, cls in EVENT_KINDS.items()}

S = CallState

# The whole state machine, as data: TRANSITIONS[state][event type] -> new state.
TRANSITIONS: Mapping[CallState, Mapping[type[Event], CallState]] = {
    S.IN_IVR: {Queued: S.QUEUED, IvrEnded: S.ENDED, Transferred: S.ENDED, CallerLeft: S.ENDED, FellBack: S.ENDED},
    S.QUEUED: {Offered: S.OFFERED, CallbackOffered: S.QUEUED, CallbackBooked: S.CALLBACK_WAITING,
               CallerLeft: S.ENDED, FellBack: S.ENDED},
    S.OFFERED: {DialBegan: S.OFFERED, Answered: S.TALKING, Missed: S.QUEUED, Withdrawn: S.QUEUED,
                CallerLeft: S.ENDED, FellBack: S.ENDED},
    S.TALKING: {SurveyStarted: S.SURVEY, Ended: S.ENDED, CallerLeft: S.ENDED},
    S.SURVEY: {Ended: S.ENDED, CallerLeft: S.ENDED},
    S.CALLBACK_WAITING: {Offered: S.CALLBACK_OFFERED},
    S.CALLBACK_OFFERED: {CallbackPlaced: S.CALLBACK_DIALLING, Missed: S.CALLBACK_WAITING,
                         Withdrawn: S.CALLBACK_WAITING},
    S.CALLBACK_DIALLING: {Answered: S.TALKING, CallbackRetry: S.CALLBACK_WAITING, CallbackFailed: S.ENDED},
    S.ENDED: {},
}

# Rule 1 as data: the steps that decide the outcome, by (state before, event type).
OUTCOMES: Mapping[tuple[CallState, type[Event]], Outcome] = {
    (S.IN_IVR, IvrEnded): Outcome.IVR_END,
    (S.IN_IVR, Transferred): Outcome.TRANSFERRED,
    (S.IN_IVR, CallerLeft): Outcome.IVR_HANGUP,
    (S.QUEUED, CallerLeft): Outcome.ABANDONED,
    (S.OFFERED, CallerLeft): Outcome.ABANDONED,
    (S.TALKING, Ended): Outcome.ANSWERED,
    (S.TALKING, CallerLeft): Outcome.ANSWERED,
    (S.SURVEY, Ended): Outcome.ANSWERED,
    (S.SURVEY, CallerLeft): Outcome.ANSWERED,
    (S.QUEUED, CallbackBooked): Outcome.CALLBACK_REQUESTED,
    (S.CALLBACK_DIALLING, CallbackRetry): Outcome.CALLBACK_RETRY,
    (S.CALLBACK_DIALLING, CallbackFailed): Outcome.CALLBACK_FAILED,
    **{(state, FellBack): Outcome.FALLBACK for state in (S.IN_IVR, S.QUEUED, S.OFFERED)},  # rule 2
}

# States in which an agent is bound to the call (rule 4).
WITH_AGENT = frozenset({S.OFFERED, S.TALKING, S.CALLBACK_OFFERED, S.CALLBACK_DIALLING})
# States in which the router may take an agent for the call.
ROUTABLE = frozenset({S.QUEUED, S.CALLBACK_WAITING})


def legal_events(state: CallState) -> tuple[type[Event], ...]:
    """The event types the table allows in ``state``, by name."""
    return tuple(sorted(TRANSITIONS[state], key=lambda t: t.__name__))


class IllegalTransition(Exception):
    """An event the table (or a guard) does not allow in the call's current state.

    The message names the call, the event, the state and the legal events there.
    """

    def __init__(self, call_id: str, state: CallState, event: Event, detail: str = "") -> None:
        names = [t.__name__ for t in legal_events(state)] or ["none"]
        because = "" if not detail else f": {detail}"
        message = f"call {call_id}: {type(event).__name__} is illegal in state {state.value}{because}"
        super().__init__(f"{message} (legal: {', '.join(names)})")
        self.call_id, self.state, self.event = call_id, state, event


# -- the call -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One call's live state: what a controller needs to carry the call on, and its record.

    ``queued_at`` is the call's place in line; ``offered_at``/``ringing_at`` belong to the
    latest offer; ``excluded`` are agents not to be offered this call again.
    """

    call_id: str
    arrived_at: float
    state: CallState = S.IN_IVR
    since: float = 0.0
    source: Source = Source.CONTROLLER
    caller: str = ""
    dnis: str = ""
    queue: str = ""
    language: str = ""
    skills: frozenset[str] = frozenset()
    priority: int = 0
    agent_id: str | None = None
    answered_by: str | None = None
    excluded: frozenset[str] = frozenset()
    callback_offer: CallbackOffer = CallbackOffer.NO
    queued_at: float | None = None
    offered_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    booked_at: float | None = None
    ended_at: float | None = None
    not_before: float = 0.0
    misses: int = 0
    attempts: int = 0
    outcome: Outcome = Outcome.IN_PROGRESS


def start(event: Arrived) -> Call:
    """A new call, in the IVR since it arrived."""
    return Call(call_id=event.call_id, arrived_at=event.at, since=event.at, source=event.source,
                caller=event.caller, dnis=event.dnis)


def replay(events: Iterable[Event]) -> Call:
    """The call a stored log leads to: ``start`` on its ``Arrived``, then ``apply`` each step.

    Raises ``ValueError`` if the log does not begin with ``Arrived``, and
    ``IllegalTransition`` as ``apply`` does.
    """
    steps = iter(events)
    first = next(steps, None)
    if not isinstance(first, Arrived):
        raise ValueError(f"a call's log begins with Arrived, not {type(first).__name__}")
    call = start(first)
    for event in steps:
        call = apply(call, event)
    return call


def apply(call: Call, event: Event) -> Call:
    """Return the call after ``event``; the input is not changed.

    Raises ``IllegalTransition`` when the table or a guard forbids the event.
    """
    target = TRANSITIONS[call.state].get(type(event))
    if target is None:
        raise IllegalTransition(call.call_id, call.state, event)
    guard = _GUARDS.get((call.state, type(event)))
    problem = guard(call) if guard else None
    if problem:
        raise IllegalTransition(call.call_id, call.state, event, problem)
    return replace(call, **_common_effects(call, event, target), **_EFFECTS[type(event)](call, event))


def _common_effects(call: Call, event: Event, target: CallState) -> dict[str, Any]:
    """What every step does: the state and its start, rules 1 and 4, and the end time."""
    changes: dict[str, Any] = {"state": target}
    if target is not call.state:
        changes["since"] = event.at
    if target not in WITH_AGENT:
        changes["agent_id"] = None
    if target is S.ENDED:
        changes["ended_at"] = event.at if call.ended_at is None else call.ended_at  # rule 7
    outcome = OUTCOMES.get((call.state, type(event)))
    if outcome is not None:
        changes["outcome"] = outcome
    return changes


def _offer_once(call: Call) -> str | None:
    if call.callback_offer is not CallbackOffer.NO:
        return f"a callback was offered already ({call.callback_offer.value})"
    return None


def _offered_and_allowed(call: Call) -> str | None:
    if call.callback_offer is CallbackOffer.REFUSED:
        return "the caller's number may not be called back"
    if call.callback_offer is CallbackOffer.NO:
        return "no callback was offered"
    return None


_GUARDS: Mapping[tuple[CallState, type[Event]], Callable[[Call], str | None]] = {
    (S.QUEUED, CallbackOffered): _offer_once,  # rule 5
    (S.QUEUED, CallbackBooked): _offered_and_allowed,
}


# Effects: the fields each event changes beyond ``_common_effects``.
Effect = Callable[[Call, Any], dict[str, Any]]


def _bound_agent(call: Call) -> str:
    assert call.agent_id is not None, f"call {call.call_id} in {call.state.value} has no agent"
    return call.agent_id


def _nothing(call: Call, event: Event) -> dict[str, Any]:
    return {}


def _queued(call: Call, event: Queued) -> dict[str, Any]:
    return {"queued_at": event.at, "queue": event.queue, "language": event.language,
            "skills": event.skills, "priority": event.priority}


def _callback_offered(call: Call, event: CallbackOffered) -> dict[str, Any]:
    return {"callback_offer": CallbackOffer.REFUSED if event.refused else CallbackOffer.YES}


def _offered(call: Call, event: Offered) -> dict[str, Any]:
    return {"agent_id": event.agent_id, "offered_at": event.at, "ringing_at": None}


def _dial_began(call: Call, event: DialBegan) -> dict[str, Any]:
    return {} if call.ringing_at is not None else {"ringing_at": event.at}  # a repeat keeps the first


def _answered(call: Call, event: Answered) -> dict[str, Any]:
    return {"answered_at": event.at, "answered_by": _bound_agent(call)}


def _missed(call: Call, event: Missed) -> dict[str, Any]:
    return {"misses": call.misses + 1, "excluded": call.excluded | {_bound_agent(call)}}  # rule 3


def _withdrawn(call: Call, event: Withdrawn) -> dict[str, Any]:
    return {"excluded": call.excluded | {_bound_agent(call)}} if event.exclude else {}


def _callback_booked(call: Call, event: CallbackBooked) -> dict[str, Any]:
    return {"booked_at": event.at}


def _callback_placed(call: Call, event: CallbackPlaced) -> dict[str, Any]:
    return {"attempts": call.attempts + 1}


def _callback_retry(call: Call, event: CallbackRetry) -> dict[str, Any]:
    return {"excluded": frozenset(), "not_before": event.not_before}  # rule 6


def _survey_started(call: Call, event: SurveyStarted) -> dict[str, Any]:
    return {"ended_at": event.at}  # rule 7: the conversation is over


_EFFECTS: Mapping[type[Event], Effect] = {
    Queued: _queued,
    IvrEnded: _nothing,
    Transferred: _nothing,
    CallbackOffered: _callback_offered,
    Offered: _offered,
    DialBegan: _dial_began,
    Answered: _answered,
    Missed: _missed,
    Withdrawn: _withdrawn,
    CallerLeft: _nothing,
    CallbackBooked: _callback_booked,
    CallbackPlaced: _callback_placed,
    CallbackRetry: _callback_retry,
    CallbackFailed: _nothing,
    SurveyStarted: _survey_started,
    Ended: _nothing,
    FellBack: _nothing,
}


# -- storage: flat str -> str, exact round trips ---------------------------------------
#
# Each field is stored under its own name, encoded by its type: floats as repr (exact),
# None as "", sets comma-joined and sorted, booleans as "1"/"", enums by value. Fields a
# stored hash lacks take their defaults (so fields can be added later); unknown keys are
# ignored (the hash may carry the shell's own fields).


@dataclass(frozen=True, slots=True)
class _Codec:
    """How one field type is checked (a problem or None), written and read back."""

    check: Callable[[Any], str | None]
    encode: Callable[[Any], str]
    decode: Callable[[str], Any]  # raises ValueError("is not ...")


_FLOAT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?")
_INT_TEXT = re.compile(r"-?[0-9]+")


def _parsed(pattern: re.Pattern[str], convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def decode(raw: str) -> Any:
        if not pattern.fullmatch(raw):
            raise ValueError(f"is not {what}")
        return convert(raw)
    return decode


def _finite(value: Any) -> str | None:
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    return None if real and math.isfinite(value) else f"must be a finite number, not {value!r}"


def _of_type(kind: type) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        exact = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        return None if exact else f"must be {kind.__name__}, not {value!r}"
    return check


def _names(value: Any) -> str | None:
    if not isinstance(value, frozenset) or not all(isinstance(v, str) and v and "," not in v for v in value):
        return f"must be a frozenset of non-empty names without commas, not {value!r}"
    return None


def _boolean(raw: str) -> bool:
    if raw not in ("", "1"):
        raise ValueError("is not a flag ('1' or '')")
    return raw == "1"


def _enum_codec(kind: type[StrEnum]) -> _Codec:
    def decode(raw: str) -> StrEnum:
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"is not a known {kind.__name__} ({', '.join(kind)})") from None
    return _Codec(_of_type(kind), lambda v: v.value, decode)


def _optional(inner: _Codec) -> _Codec:
    return _Codec(lambda v: None if v is None else inner.check(v),
                  lambda v: "" if v is None else inner.encode(v),
                  lambda raw: None if raw == "" else inner.decode(raw))


_PLAIN_CODECS: Mapping[Any, _Codec] = {
    str: _Codec(_of_type(str), str, str),
    float: _Codec(_finite, lambda v: repr(float(v)), _parsed(_FLOAT_TEXT, float, "a finite number")),
    int: _Codec(_of_type(int), str, _parsed(_INT_TEXT, int, "a whole number")),
    bool: _Codec(_of_type(bool), lambda v: "1" if v else "", _boolean),
    frozenset[str]: _Codec(_names, lambda v: ",".join(sorted(v)), lambda raw: frozenset(x for x in raw.split(",") if x)),
}


def _codec(hint: Any) -> _Codec:
    if isinstance(hint, types.UnionType):  # X | None
        (inner,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        return _optional(_codec(inner))
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return _enum_codec(hint)
    return _PLAIN_CODECS[hint]


_Layout = tuple[tuple[str, _Codec, Any], ...]  # (field, codec, default or MISSING)


def _layout(cls: type) -> _Layout:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _codec(hints[f.name]), f.default) for f in fields(cls))


_LAYOUTS: Mapping[type, _Layout] = {cls: _layout(cls) for cls in (Call, *EVENT_KINDS.values())}


def _required_names(*names: str) -> Callable[[Any], str | None]:
    def rule(event: Any) -> str | None:
        bad = [n for n in names if not getattr(event, n) or "," in getattr(event, n)]
        return f"{bad[0]} must be a non-empty name without commas, not {getattr(event, bad[0])!r}" if bad else None
    return rule


def _retry_after_now(event: CallbackRetry) -> str | None:
    return None if event.not_before >= event.at else f"not_before {event.not_before!r} is before at {event.at!r}"


_EVENT_RULES: Mapping[type[Event], Callable[[Any], str | None]] = {
    Arrived: _required_names("call_id"),
    Queued: _required_names("queue", "language"),
    Offered: _required_names("agent_id"),
    CallbackRetry: _retry_after_now,
}


def _event_problem(event: Event) -> str | None:
    for name, codec, _ in _LAYOUTS.get(type(event), ()):
        problem = codec.check(getattr(event, name))
        if problem:
            return f"{name} {problem}"
    rule = _EVENT_RULES.get(type(event))
    return rule(event) if rule else None


def _encode(value: Any) -> dict[str, str]:
    return {name: codec.encode(getattr(value, name)) for name, codec, _ in _LAYOUTS[type(value)]}


def _decode(cls: type, stored: Mapping[str, str], who: str) -> Any:
    values: dict[str, Any] = {}
    for name, codec, default in _LAYOUTS[cls]:
        raw = stored.get(name)
        if raw is None:
            if default is MISSING:
                raise BadCallData(f"{who}: field {name!r} is missing")
            continue
        try:
            values[name] = codec.decode(raw)
        except (ValueError, TypeError) as exc:
            raise BadCallData(f"{who}: field {name!r} {exc}: {raw!r}") from None
    try:
        return cls(**values)
    except ValueError as exc:
        raise BadCallData(f"{who}: {exc}") from None


def to_dict(call: Call) -> dict[str, str]:
    """The call as a flat str->str hash; ``from_dict`` gives back an equal call."""
    return _encode(call)


def from_dict(stored: Mapping[str, str]) -> Call:
    """Decode a hash written by ``to_dict``; raises ``BadCallData`` naming the call and field."""
    return _decode(Call, stored, f"call {stored.get('call_id') or '?'}")


def event_to_dict(event: Event) -> dict[str, str]:
    """The event as a flat str->str hash, its type under ``kind`` (see ``EVENT_KINDS``)."""
    return {"kind": _KIND_OF[type(event)], **_encode(event)}


def event_from_dict(stored: Mapping[str, str]) -> Event:
    """Decode a hash written by ``event_to_dict``; raises ``BadCallData`` naming the field."""
    kind = stored.get("kind") or ""
    cls = EVENT_KINDS.get(kind)
    if cls is None:
        raise BadCallData(f"event kind {kind!r} is not one of {', '.join(EVENT_KINDS)}")
    event: Event = _decode(cls, stored, f"{kind} event")
    return event
