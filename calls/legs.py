"""The legs of a three-party call: citizen, call taker and a government agency, as data.

While a citizen's call is ``talking`` (``calls/state.py``), the call taker may bring in an
agency from the directory (``outbound/agencies.py``): consult it with the citizen on hold,
conference it in, hand the citizen over to it, or transfer blind. This file decides, and only
decides (h11's Rule 1, as ``calls/state.py`` and ``agents/state.py`` do): one ``ThreeWay``
value per call, typed events in, a new value and the effects (commands) for the shell out.
There is no I/O and no clock: every event carries ``at``, the moment it happened on the
caller's clock. The shell runs each call in a ConfBridge room: "hold" parks the citizen's
channel on music, an agency leg is an async Originate into the room, "leave" kicks the call
taker's channel from the room. It stores the value after every step (``to_dict``/
``from_dict``: a flat str->str Redis hash, the legs as JSON in one field) and logs, never
crashes on, ``IllegalTransition``: a button pressed in the wrong state (the API's 409), a
late or duplicate event, or a bug in the shell. ``allowed`` gives the desk its buttons.

States (the values are what is stored)::

    two_party           citizen and call taker talk; no agency leg (the start, and "back to normal")
    consult_dialing     citizen on music, agency ringing, the call taker hears the ringback
    consulting          citizen on music, call taker and agency talk alone
    conference_dialing  citizen and call taker talk, agency ringing
    conference          all three talk
    blind_dialing       call taker kicked out (blind transfer), citizen on music, agency ringing;
                        the call taker is not free yet: kept in reserve to take the citizen back
    agent_recalling     the agency failed after a blind transfer: the call taker's phone is rung
    handed_over         citizen and agency talk, the call taker is gone
    ended               nothing more happens on these legs (``outcome`` says how it ended)

The whole table, one row of ``TRANSITIONS`` per line: ``state -Event[case]-> target``, then
the effects in the order the shell carries them out. The case is ``usual`` unless named:
``next_number`` when an ``AgencyFailed`` names another number of the agency not yet tried for
this request, ``citizen_gone`` once the citizen hung up (only the consult states go on without
the citizen). ``ignored`` rows accept the event and change nothing (a late report about a party
already gone). A (state, event, case) not listed raises ``IllegalTransition``; the unit tests
check that this listing and ``TRANSITIONS`` are the same, row for row::

    two_party -Consult-> consult_dialing  hold_citizen, dial_agency
    two_party -Conference-> conference_dialing  dial_agency
    two_party -BlindTransfer-> blind_dialing  hold_citizen, kick_agent, dial_agency
    two_party -CitizenHungUp-> ended  kick_agent, agent_to_wrap_up, end_room
    two_party -AgentHungUp-> ended  agent_to_wrap_up, hangup_citizen, end_room
    consult_dialing -AgencyAnswered-> consulting
    consult_dialing -AgencyAnswered[citizen_gone]-> consulting
    consult_dialing -AgencyFailed-> two_party  unhold_citizen_to_agent, notify_agent
    consult_dialing -AgencyFailed[next_number]-> consult_dialing  dial_agency, notify_agent
    consult_dialing -AgencyFailed[citizen_gone]-> ended  notify_agent, kick_agent, agent_to_wrap_up, end_room
    consult_dialing -CancelConsult-> two_party  hangup_agency, unhold_citizen_to_agent
    consult_dialing -CancelConsult[citizen_gone]-> ended  hangup_agency, kick_agent, agent_to_wrap_up, end_room
    consult_dialing -CitizenHungUp-> consult_dialing  notify_agent
    consult_dialing -CitizenHungUp[citizen_gone]-> ignored
    consult_dialing -AgentHungUp-> blind_dialing
    consult_dialing -AgentHungUp[citizen_gone]-> ended  hangup_agency, agent_to_wrap_up, end_room
    consult_dialing -AgencyHungUp-> ignored
    consult_dialing -AgencyHungUp[citizen_gone]-> ignored
    consulting -Join-> conference  citizen_into_room
    consulting -CompleteTransfer-> handed_over  citizen_into_room, kick_agent, agent_to_wrap_up
    consulting -CancelConsult-> two_party  hangup_agency, unhold_citizen_to_agent
    consulting -CancelConsult[citizen_gone]-> ended  hangup_agency, kick_agent, agent_to_wrap_up, end_room
    consulting -Leave[citizen_gone]-> ended  hangup_agency, kick_agent, agent_to_wrap_up, end_room
    consulting -AgencyHungUp-> two_party  unhold_citizen_to_agent, notify_agent
    consulting -AgencyHungUp[citizen_gone]-> ended  notify_agent, kick_agent, agent_to_wrap_up, end_room
    consulting -AgentHungUp-> handed_over  citizen_into_room, agent_to_wrap_up
    consulting -AgentHungUp[citizen_gone]-> ended  hangup_agency, agent_to_wrap_up, end_room
    consulting -CitizenHungUp-> consulting  notify_agent
    consulting -CitizenHungUp[citizen_gone]-> ignored
    conference_dialing -AgencyAnswered-> conference
    conference_dialing -AgencyFailed-> two_party  notify_agent
    conference_dialing -AgencyFailed[next_number]-> conference_dialing  dial_agency, notify_agent
    conference_dialing -HangUpAgency-> two_party  hangup_agency
    conference_dialing -CitizenHungUp-> consult_dialing  notify_agent
    conference_dialing -AgentHungUp-> blind_dialing  hold_citizen
    conference_dialing -AgencyHungUp-> ignored
    conference -Leave-> handed_over  kick_agent, agent_to_wrap_up
    conference -HangUpAgency-> two_party  hangup_agency
    conference -AgencyHungUp-> two_party  notify_agent
    conference -AgentHungUp-> handed_over  agent_to_wrap_up
    conference -CitizenHungUp-> consulting  notify_agent
    blind_dialing -AgencyAnswered-> handed_over  citizen_into_room, agent_to_wrap_up
    blind_dialing -AgencyFailed-> agent_recalling  ring_agent_back
    blind_dialing -AgencyFailed[next_number]-> blind_dialing  dial_agency
    blind_dialing -CitizenHungUp-> ended  hangup_agency, agent_to_wrap_up, end_room
    blind_dialing -AgentHungUp-> ignored
    blind_dialing -AgencyHungUp-> ignored
    agent_recalling -AgentBack-> two_party  unhold_citizen_to_agent, notify_agent
    agent_recalling -AgentUnreachable-> ended  requeue_citizen, agent_to_wrap_up, end_room
    agent_recalling -CitizenHungUp-> ended  stop_ringing_agent, agent_to_wrap_up, end_room
    agent_recalling -AgentHungUp-> ignored
    handed_over -CitizenHungUp-> ended  hangup_agency, end_room
    handed_over -AgencyHungUp-> ended  hangup_citizen, end_room
    handed_over -AgentHungUp-> ignored
    ended -CitizenHungUp-> ignored
    ended -CitizenHungUp[citizen_gone]-> ignored
    ended -AgentHungUp-> ignored
    ended -AgentHungUp[citizen_gone]-> ignored
    ended -AgencyHungUp-> ignored
    ended -AgencyHungUp[citizen_gone]-> ignored

A value is created by ``start(call_id, at)`` in ``two_party`` when the call is answered;
``step`` takes one event; ``replay`` folds a stored log.

Rules beyond the table:

1. The citizen is never hung up on by us. Every failure brings the citizen back to the call
   taker: the agency not reached (``AgencyFailed``) or hanging up during a consult puts a held
   citizen back with the call taker (``unhold_citizen_to_agent``); in conference dialing they
   are together already, only the agency leg goes; after a blind transfer the call taker is
   rung back (``agent_recalling``), and if they do not answer (``AgentUnreachable``) the
   citizen goes back to the head of the queue (``requeue_citizen``, outcome ``requeued``).
   ``hangup_citizen`` exists for one thing only: the natural end of the call when the citizen
   is left with nobody, the agency gone after a hand-over, or the call taker hanging up on a
   plain two-party call; the shell ends that leg as it ends a call whose agent hung up first
   (the survey, if the call runs one). A held citizen is never alone: in ``blind_dialing`` and
   ``agent_recalling`` someone is being rung for them.
2. Next number: when an agency is not reached, the shell looks up the directory's next number
   (``Agency.numbers_to_try``) and puts it in ``AgencyFailed.next_number``. A number not yet
   tried for this request is dialled straight away (the ``next_number`` rows), recorded as a
   new leg with ``attempt`` one more; a missing or already tried number makes the failure
   final (so a repeated number cannot loop). The call taker is told each failure's reason.
3. The call taker hangs up mid-consult (the decision this module makes): the citizen is never
   left on music with nobody coming. If the agency has answered (``consulting``) the citizen is
   handed over, exactly as ``CompleteTransfer``. If it is still ringing (``consult_dialing``,
   and ``conference_dialing`` too, with the citizen put on music) it becomes a blind transfer:
   the call taker stays in reserve, is rung back if the agency is not reached, and the citizen
   is requeued if they do not answer. Hanging up with the agency on the line and the citizen on
   hold is how a desk phone transfers, so the call taker's intent is honoured.
4. The citizen hangs up during a consult or a conference: the call taker stays with the agency
   (``consulting``, or ``consult_dialing`` while it rings, with ``citizen_left_at`` set: the
   ``citizen_gone`` case). Join and CompleteTransfer are then refused; Leave, CancelConsult, a
   hang-up or a failure ends the value. Anywhere else the citizen hanging up ends it.
5. Late reports are accepted and change nothing, so the shell never has to order AMI's events:
   a hang-up of a party already gone (the ``ignored`` rows: the kicked call taker's channel
   hanging up, a second CitizenHungUp, anything after ``ended``), and any agency event about a
   leg that has ended (named by ``leg``, the index in ``legs`` that the dial effect gave the
   shell, or unnamed when no leg is live). An agency leg that ends before it answered is
   reported by ``AgencyFailed`` alone, which carries why and the next number: an
   ``AgencyHungUp`` for a ringing leg (AMI's Hangup may come before the OriginateResponse) is
   ignored.
6. Wrap-up: ``agent_to_wrap_up`` is emitted exactly once per value, at the step where the call
   taker leaves the call for good (Leave, CompleteTransfer, a blind transfer answered, their
   own hang-up once nobody needs them back, the call ending), never earlier: in
   ``blind_dialing`` and ``agent_recalling`` the call taker is held (``AGENT_HELD``).
   ``agent_left_at`` is that step's time, so in a blind transfer it is the agency's answer.
7. Records: ``legs`` keeps every agency leg ever dialled (``AgencyLeg``: agency, number, mode as
   dialled, attempt, dialled/answered/ended times and why it ended). Every leg has ended once
   the value has. ``who_left_first`` is the first party to leave the conversation for good: the
   citizen hanging up, the call taker's release (rule 6), or an agency that had answered
   dropping out (hung up, or dropped by the call taker); an agency never reached never joined.
   ``handling`` folds the value into the KPI's word: ``transferred`` (the citizen ended up with
   the agency without the call taker), ``three_party`` (an agency talked with both), ``consulted``
   (an agency answered a consult only) or ``direct`` (no agency answered).
8. Effects come as ``EffectCall``s in the order to carry them out, with their arguments:
   ``dial_agency`` the number and the new leg's index, ``hangup_agency`` the leg, ``notify_agent``
   a reason (a ``FailReason`` or a ``Notice``, with the next number when one is being dialled),
   ``requeue_citizen`` and ``hangup_citizen`` a reason. ``end_room`` hangs nobody up: every
   channel that has to go has its own effect; it comes exactly once, when the value ends.
9. Time is the caller's: each ``at`` is stored as given, never reordered or clamped. ``since``
   is when the current state began.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ThreeWayState", "Case", "FailReason", "LegMode", "LegEnd", "Party", "Notice", "Handling",
    "ThreeWayOutcome", "Effect", "EffectCall", "Consult", "Conference", "BlindTransfer",
    "AgencyAnswered", "AgencyFailed", "Join", "Leave", "CompleteTransfer", "CancelConsult",
    "HangUpAgency", "CitizenHungUp", "AgentHungUp", "AgencyHungUp", "AgentBack", "AgentUnreachable",
    "LegEvent", "EVENT_TYPES", "DESK_EVENTS", "AGENCY_EVENTS", "Row", "TRANSITIONS",
    "AGENT_IN_CALL", "AGENT_HELD", "LIVE_LEG_UNANSWERED", "LIVE_LEG_ANSWERED", "IllegalTransition",
    "BadLegData", "AgencyLeg", "ThreeWay", "start", "step", "replay", "allowed", "legal_events",
    "parties_present", "live_leg", "handling", "to_dict", "from_dict",
]


class ThreeWayState(StrEnum):
    """Where the legs of a call are; the values are what is stored."""

    TWO_PARTY = "two_party"
    CONSULT_DIALING = "consult_dialing"
    CONSULTING = "consulting"
    CONFERENCE_DIALING = "conference_dialing"
    CONFERENCE = "conference"
    BLIND_DIALING = "blind_dialing"
    AGENT_RECALLING = "agent_recalling"
    HANDED_OVER = "handed_over"
    ENDED = "ended"


class Case(StrEnum):
    """Which row of a (state, event) applies: the conditions the table itself names."""

    USUAL = "usual"
    NEXT_NUMBER = "next_number"    # an AgencyFailed naming a number not yet tried (rule 2)
    CITIZEN_GONE = "citizen_gone"  # the citizen has hung up (rule 4)


class FailReason(StrEnum):
    """Why an agency leg was not answered (the shell maps DIALSTATUS/OriginateResponse)."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    OUT_OF_HOURS = "out_of_hours"
    REJECTED = "rejected"


class LegMode(StrEnum):
    """How an agency leg was dialled (the button the call taker pressed)."""

    CONSULT = "consult"
    CONFERENCE = "conference"
    BLIND = "blind"


class LegEnd(StrEnum):
    """Why an agency leg ended: a ``FailReason``, cancelled before an answer, or who hung up."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    OUT_OF_HOURS = "out_of_hours"
    REJECTED = "rejected"
    CANCELLED = "cancelled"                    # hung up by us before it answered
    HUNG_UP_BY_AGENCY = "hung_up_by_agency"    # answered, then the agency hung up
    HUNG_UP_BY_CITIZEN = "hung_up_by_citizen"  # answered, then the citizen's hang-up ended it
    HUNG_UP_BY_AGENT = "hung_up_by_agent"      # answered, then the call taker dropped it or left


class Party(StrEnum):
    """The three parties of the call."""

    CITIZEN = "citizen"
    AGENT = "agent"
    AGENCY = "agency"


class Notice(StrEnum):
    """Reasons the effects give beyond ``FailReason``: for the desk and for the shell's logs."""

    CITIZEN_HUNG_UP = "citizen_hung_up"
    AGENCY_HUNG_UP = "agency_hung_up"
    AGENT_HUNG_UP = "agent_hung_up"
    AGENT_UNREACHABLE = "agent_unreachable"


class Handling(StrEnum):
    """How the call was handled, for the KPIs (rule 7)."""

    DIRECT = "direct"
    CONSULTED = "consulted"
    THREE_PARTY = "three_party"
    TRANSFERRED = "transferred"


class ThreeWayOutcome(StrEnum):
    """How the legs ended: still going, the call is over, or the citizen went back to the queue."""

    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    REQUEUED = "requeued"


class Effect(StrEnum):
    """A command for the shell; ``EffectCall`` carries one with its arguments."""

    HOLD_CITIZEN = "hold_citizen"                        # citizen's channel out of the room, on music
    UNHOLD_CITIZEN_TO_AGENT = "unhold_citizen_to_agent"  # back into the room, to the call taker
    CITIZEN_INTO_ROOM = "citizen_into_room"              # off music into the room, where the agency is
    DIAL_AGENCY = "dial_agency"                          # async Originate of ``number`` into the room
    HANGUP_AGENCY = "hangup_agency"                      # end agency leg ``leg``, ringing or answered
    KICK_AGENT = "kick_agent"                            # the call taker's channel leaves the room
    RING_AGENT_BACK = "ring_agent_back"                  # Originate the call taker's phone into the room
    STOP_RINGING_AGENT = "stop_ringing_agent"            # give up that ring-back
    REQUEUE_CITIZEN = "requeue_citizen"                  # citizen to the head of its queue, keeps its place
    HANGUP_CITIZEN = "hangup_citizen"                    # the natural end, nobody left (rule 1)
    AGENT_TO_WRAP_UP = "agent_to_wrap_up"                # the call taker is done with the call (rule 6)
    NOTIFY_AGENT = "notify_agent"                        # show ``reason`` on the desk
    END_ROOM = "end_room"                                # the room is no longer needed (hangs nobody up)


@dataclass(frozen=True, slots=True)
class EffectCall:
    """One command for the shell: the effect and what it needs (rule 8)."""

    effect: Effect
    number: str = ""
    reason: str = ""
    leg: int | None = None


class BadLegData(ValueError):
    """Stored three-way fields that cannot be decoded; the message names the call and field."""


# -- events -------------------------------------------------------------------

_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")  # the directory's agency ids (outbound/agencies.py)
_NUMBER = re.compile(r"[0-9]{3,20}")       # the directory's numbers: ASCII digits only


class _Checked:
    """Every event checks its fields when built, so ``step`` and the records see well-formed data."""

    __slots__ = ()

    def __post_init__(self) -> None:
        problem = _event_problem(self)
        if problem:
            raise ValueError(f"{type(self).__name__}: {problem}")


@dataclass(frozen=True, slots=True)
class Consult(_Checked):
    """The call taker puts the citizen on music and dials the agency to talk to it alone."""

    agency_id: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class Conference(_Checked):
    """The call taker dials the agency with the citizen still in the room."""

    agency_id: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class BlindTransfer(_Checked):
    """The call taker sends the citizen to the agency without waiting for it to answer."""

    agency_id: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class AgencyAnswered(_Checked):
    """The agency leg answered and is in the room (``leg``: which one; None: the live one)."""

    at: float
    leg: int | None = None


@dataclass(frozen=True, slots=True)
class AgencyFailed(_Checked):
    """The agency leg was not answered, for ``reason``; ``next_number`` is the directory's next."""

    reason: FailReason
    at: float
    next_number: str | None = None
    leg: int | None = None


@dataclass(frozen=True, slots=True)
class Join(_Checked):
    """Consulting: the call taker brings the citizen into the talk with the agency."""

    at: float


@dataclass(frozen=True, slots=True)
class Leave(_Checked):
    """The call taker drops out and leaves the others talking."""

    at: float


@dataclass(frozen=True, slots=True)
class CompleteTransfer(_Checked):
    """Attended transfer: the citizen comes off music to the agency as the call taker leaves."""

    at: float


@dataclass(frozen=True, slots=True)
class CancelConsult(_Checked):
    """The call taker gives the consult up: the agency leg goes, the citizen comes back."""

    at: float


@dataclass(frozen=True, slots=True)
class HangUpAgency(_Checked):
    """The call taker drops the agency from a conference (or its ringing leg)."""

    at: float


@dataclass(frozen=True, slots=True)
class CitizenHungUp(_Checked):
    """The citizen's channel hung up."""

    at: float


@dataclass(frozen=True, slots=True)
class AgentHungUp(_Checked):
    """The call taker's channel hung up."""

    at: float


@dataclass(frozen=True, slots=True)
class AgencyHungUp(_Checked):
    """The agency leg's channel hung up (``leg``: which one; None: the live one)."""

    at: float
    leg: int | None = None


@dataclass(frozen=True, slots=True)
class AgentBack(_Checked):
    """The call taker answered the ring-back after a failed blind transfer."""

    at: float


@dataclass(frozen=True, slots=True)
class AgentUnreachable(_Checked):
    """The call taker did not answer the ring-back."""

    at: float


LegEvent = (Consult | Conference | BlindTransfer | AgencyAnswered | AgencyFailed | Join | Leave
            | CompleteTransfer | CancelConsult | HangUpAgency | CitizenHungUp | AgentHungUp
            | AgencyHungUp | AgentBack | AgentUnreachable)

EVENT_TYPES: tuple[type[LegEvent], ...] = (
    Consult, Conference, BlindTransfer, AgencyAnswered, AgencyFailed, Join, Leave, CompleteTransfer,
    CancelConsult, HangUpAgency, CitizenHungUp, AgentHungUp, AgencyHungUp, AgentBack, AgentUnreachable,
)
# The events the call taker sends from the desk (``allowed`` lists those legal now).
DESK_EVENTS: frozenset[type[LegEvent]] = frozenset({
    Consult, Conference, BlindTransfer, Join, Leave, CompleteTransfer, CancelConsult, HangUpAgency,
})
# The events about an agency leg (rule 5: late ones are accepted and ignored).
AGENCY_EVENTS: frozenset[type[LegEvent]] = frozenset({AgencyAnswered, AgencyFailed, AgencyHungUp})


def _event_problem(event: Any) -> str | None:
    at = getattr(event, "at")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        return f"at must be a finite number, not {at!r}"
    agency_id = getattr(event, "agency_id", None)
    if agency_id is not None and not (isinstance(agency_id, str) and _ID.fullmatch(agency_id)):
        return f"agency_id {agency_id!r} is not a directory id"
    for name in ("number", "next_number"):
        number = getattr(event, name, None)
        if number is not None and not (isinstance(number, str) and _NUMBER.fullmatch(number)):
            return f"{name} {number!r} is not a dialable number (3-20 ASCII digits)"
    if isinstance(event, AgencyFailed) and not isinstance(event.reason, FailReason):
        return f"reason must be a FailReason ({', '.join(FailReason)}), not {event.reason!r}"
    leg = getattr(event, "leg", None)
    if leg is not None and (isinstance(leg, bool) or not isinstance(leg, int) or leg < 0):
        return f"leg must be a leg index (0 or more) or None, not {leg!r}"
    return None


# -- the table ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One row: the state the step goes to and the effects, in order; or ``ignore`` (rule 5)."""

    to: ThreeWayState
    effects: tuple[Effect, ...] = ()
    ignore: bool = False


S = ThreeWayState
E = Effect
USUAL, NEXT, GONE = Case.USUAL, Case.NEXT_NUMBER, Case.CITIZEN_GONE


def _to(state: ThreeWayState, *effects: Effect) -> Row:
    return Row(state, effects)


def _ignored(state: ThreeWayState) -> Row:
    return Row(state, ignore=True)


_WRAP_AND_CLOSE = (E.KICK_AGENT, E.AGENT_TO_WRAP_UP, E.END_ROOM)

# The whole state machine, as data: TRANSITIONS[(state, event type)][case] -> row. The module
# docstring lists every row; a (state, event type, case) that is not here is illegal.
TRANSITIONS: Mapping[tuple[ThreeWayState, type[LegEvent]], Mapping[Case, Row]] = {
    (S.TWO_PARTY, Consult): {USUAL: _to(S.CONSULT_DIALING, E.HOLD_CITIZEN, E.DIAL_AGENCY)},
    (S.TWO_PARTY, Conference): {USUAL: _to(S.CONFERENCE_DIALING, E.DIAL_AGENCY)},
    (S.TWO_PARTY, BlindTransfer): {USUAL: _to(S.BLIND_DIALING, E.HOLD_CITIZEN, E.KICK_AGENT, E.DIAL_AGENCY)},
    (S.TWO_PARTY, CitizenHungUp): {USUAL: _to(S.ENDED, *_WRAP_AND_CLOSE)},
    (S.TWO_PARTY, AgentHungUp): {USUAL: _to(S.ENDED, E.AGENT_TO_WRAP_UP, E.HANGUP_CITIZEN, E.END_ROOM)},

    (S.CONSULT_DIALING, AgencyAnswered): {USUAL: _to(S.CONSULTING), GONE: _to(S.CONSULTING)},
    (S.CONSULT_DIALING, AgencyFailed): {
        USUAL: _to(S.TWO_PARTY, E.UNHOLD_CITIZEN_TO_AGENT, E.NOTIFY_AGENT),
        NEXT: _to(S.CONSULT_DIALING, E.DIAL_AGENCY, E.NOTIFY_AGENT),
        GONE: _to(S.ENDED, E.NOTIFY_AGENT, *_WRAP_AND_CLOSE),
    },
    (S.CONSULT_DIALING, CancelConsult): {
        USUAL: _to(S.TWO_PARTY, E.HANGUP_AGENCY, E.UNHOLD_CITIZEN_TO_AGENT),
        GONE: _to(S.ENDED, E.HANGUP_AGENCY, *_WRAP_AND_CLOSE),
    },
    (S.CONSULT_DIALING, CitizenHungUp): {USUAL: _to(S.CONSULT_DIALING, E.NOTIFY_AGENT),
                                         GONE: _ignored(S.CONSULT_DIALING)},
    (S.CONSULT_DIALING, AgentHungUp): {  # rule 3: a blind transfer
        USUAL: _to(S.BLIND_DIALING),
        GONE: _to(S.ENDED, E.HANGUP_AGENCY, E.AGENT_TO_WRAP_UP, E.END_ROOM),
    },
    (S.CONSULT_DIALING, AgencyHungUp): {USUAL: _ignored(S.CONSULT_DIALING), GONE: _ignored(S.CONSULT_DIALING)},

    (S.CONSULTING, Join): {USUAL: _to(S.CONFERENCE, E.CITIZEN_INTO_ROOM)},
    (S.CONSULTING, CompleteTransfer): {
        USUAL: _to(S.HANDED_OVER, E.CITIZEN_INTO_ROOM, E.KICK_AGENT, E.AGENT_TO_WRAP_UP)},
    (S.CONSULTING, CancelConsult): {
        USUAL: _to(S.TWO_PARTY, E.HANGUP_AGENCY, E.UNHOLD_CITIZEN_TO_AGENT),
        GONE: _to(S.ENDED, E.HANGUP_AGENCY, *_WRAP_AND_CLOSE),
    },
    (S.CONSULTING, Leave): {GONE: _to(S.ENDED, E.HANGUP_AGENCY, *_WRAP_AND_CLOSE)},
    (S.CONSULTING, AgencyHungUp): {
        USUAL: _to(S.TWO_PARTY, E.UNHOLD_CITIZEN_TO_AGENT, E.NOTIFY_AGENT),
        GONE: _to(S.ENDED, E.NOTIFY_AGENT, *_WRAP_AND_CLOSE),
    },
    (S.CONSULTING, AgentHungUp): {  # rule 3: as CompleteTransfer
        USUAL: _to(S.HANDED_OVER, E.CITIZEN_INTO_ROOM, E.AGENT_TO_WRAP_UP),
        GONE: _to(S.ENDED, E.HANGUP_AGENCY, E.AGENT_TO_WRAP_UP, E.END_ROOM),
    },
    (S.CONSULTING, CitizenHungUp): {USUAL: _to(S.CONSULTING, E.NOTIFY_AGENT), GONE: _ignored(S.CONSULTING)},

    (S.CONFERENCE_DIALING, AgencyAnswered): {USUAL: _to(S.CONFERENCE)},
    (S.CONFERENCE_DIALING, AgencyFailed): {
        USUAL: _to(S.TWO_PARTY, E.NOTIFY_AGENT),
        NEXT: _to(S.CONFERENCE_DIALING, E.DIAL_AGENCY, E.NOTIFY_AGENT),
    },
    (S.CONFERENCE_DIALING, HangUpAgency): {USUAL: _to(S.TWO_PARTY, E.HANGUP_AGENCY)},
    (S.CONFERENCE_DIALING, CitizenHungUp): {USUAL: _to(S.CONSULT_DIALING, E.NOTIFY_AGENT)},  # rule 4
    (S.CONFERENCE_DIALING, AgentHungUp): {USUAL: _to(S.BLIND_DIALING, E.HOLD_CITIZEN)},  # rule 3
    (S.CONFERENCE_DIALING, AgencyHungUp): {USUAL: _ignored(S.CONFERENCE_DIALING)},

    (S.CONFERENCE, Leave): {USUAL: _to(S.HANDED_OVER, E.KICK_AGENT, E.AGENT_TO_WRAP_UP)},
    (S.CONFERENCE, HangUpAgency): {USUAL: _to(S.TWO_PARTY, E.HANGUP_AGENCY)},
    (S.CONFERENCE, AgencyHungUp): {USUAL: _to(S.TWO_PARTY, E.NOTIFY_AGENT)},
    (S.CONFERENCE, AgentHungUp): {USUAL: _to(S.HANDED_OVER, E.AGENT_TO_WRAP_UP)},  # as Leave
    (S.CONFERENCE, CitizenHungUp): {USUAL: _to(S.CONSULTING, E.NOTIFY_AGENT)},  # rule 4

    (S.BLIND_DIALING, AgencyAnswered): {USUAL: _to(S.HANDED_OVER, E.CITIZEN_INTO_ROOM, E.AGENT_TO_WRAP_UP)},
    (S.BLIND_DIALING, AgencyFailed): {
        USUAL: _to(S.AGENT_RECALLING, E.RING_AGENT_BACK),
        NEXT: _to(S.BLIND_DIALING, E.DIAL_AGENCY),
    },
    (S.BLIND_DIALING, CitizenHungUp): {USUAL: _to(S.ENDED, E.HANGUP_AGENCY, E.AGENT_TO_WRAP_UP, E.END_ROOM)},
    (S.BLIND_DIALING, AgentHungUp): {USUAL: _ignored(S.BLIND_DIALING)},
    (S.BLIND_DIALING, AgencyHungUp): {USUAL: _ignored(S.BLIND_DIALING)},

    (S.AGENT_RECALLING, AgentBack): {USUAL: _to(S.TWO_PARTY, E.UNHOLD_CITIZEN_TO_AGENT, E.NOTIFY_AGENT)},
    (S.AGENT_RECALLING, AgentUnreachable): {
        USUAL: _to(S.ENDED, E.REQUEUE_CITIZEN, E.AGENT_TO_WRAP_UP, E.END_ROOM)},
    (S.AGENT_RECALLING, CitizenHungUp): {
        USUAL: _to(S.ENDED, E.STOP_RINGING_AGENT, E.AGENT_TO_WRAP_UP, E.END_ROOM)},
    (S.AGENT_RECALLING, AgentHungUp): {USUAL: _ignored(S.AGENT_RECALLING)},

    (S.HANDED_OVER, CitizenHungUp): {USUAL: _to(S.ENDED, E.HANGUP_AGENCY, E.END_ROOM)},
    (S.HANDED_OVER, AgencyHungUp): {USUAL: _to(S.ENDED, E.HANGUP_CITIZEN, E.END_ROOM)},
    (S.HANDED_OVER, AgentHungUp): {USUAL: _ignored(S.HANDED_OVER)},

    **{(S.ENDED, hung_up): {USUAL: _ignored(S.ENDED), GONE: _ignored(S.ENDED)}
       for hung_up in (CitizenHungUp, AgentHungUp, AgencyHungUp)},
}

# Why a row is missing for a case, where a word helps the call taker (the API's 409).
_REFUSALS: Mapping[tuple[ThreeWayState, type[LegEvent], Case], str] = {
    (S.CONSULTING, Join, GONE): "the citizen has hung up",
    (S.CONSULTING, CompleteTransfer, GONE): "the citizen has hung up",
    (S.CONSULTING, Leave, USUAL): "the citizen is on hold: CompleteTransfer hands them to the agency, "
                                  "CancelConsult brings them back",
    (S.CONSULT_DIALING, Join, USUAL): "the agency has not answered yet",
    (S.CONSULT_DIALING, Join, GONE): "the agency has not answered yet",
    (S.CONSULT_DIALING, CompleteTransfer, USUAL): "the agency has not answered yet",
    (S.CONFERENCE_DIALING, Leave, USUAL): "the agency has not answered yet",
}

# States in which the call taker is in the call, and in which they are held in reserve for it.
AGENT_IN_CALL = frozenset({S.TWO_PARTY, S.CONSULT_DIALING, S.CONSULTING, S.CONFERENCE_DIALING, S.CONFERENCE})
AGENT_HELD = frozenset({S.BLIND_DIALING, S.AGENT_RECALLING})
# States with a live agency leg, ringing or answered; the others have none.
LIVE_LEG_UNANSWERED = frozenset({S.CONSULT_DIALING, S.CONFERENCE_DIALING, S.BLIND_DIALING})
LIVE_LEG_ANSWERED = frozenset({S.CONSULTING, S.CONFERENCE, S.HANDED_OVER})


class IllegalTransition(Exception):
    """An event the table does not allow for the value as it is.

    The message names the call, the event, the state and the events legal there now; the API
    turns it into a 409, the shell logs it for a network event.
    """

    def __init__(self, value: ThreeWay, event: LegEvent, detail: str = "") -> None:
        names = [t.__name__ for t in legal_events(value)] or ["none"]
        because = f": {detail}" if detail else ""
        message = f"call {value.call_id}: {type(event).__name__} is illegal in state {value.state.value}{because}"
        super().__init__(f"{message} (legal: {', '.join(names)})")
        self.call_id, self.state, self.event = value.call_id, value.state, event


# -- the value ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgencyLeg:
    """One agency leg as dialled: which number, how, and how it went (rule 7)."""

    agency_id: str
    number: str
    mode: LegMode
    dialled_at: float
    attempt: int = 1  # 1 for the number dialled first for a request, then 2, 3... (rule 2)
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: LegEnd | None = None


@dataclass(frozen=True, slots=True)
class ThreeWay:
    """The legs of one call from its answer on.

    ``citizen_left_at`` is when the citizen hung up; ``agent_left_at`` when the call taker was
    released to wrap-up (rule 6); ``conferenced_at`` when all three first talked;
    ``handed_over_at`` when the citizen was left with the agency; ``ended_at`` when the value
    reached ``ended``.
    """

    call_id: str
    started_at: float
    state: ThreeWayState = S.TWO_PARTY
    since: float = 0.0
    legs: tuple[AgencyLeg, ...] = ()
    citizen_left_at: float | None = None
    agent_left_at: float | None = None
    who_left_first: Party | None = None
    conferenced_at: float | None = None
    handed_over_at: float | None = None
    ended_at: float | None = None
    outcome: ThreeWayOutcome = ThreeWayOutcome.IN_PROGRESS


def start(call_id: str, at: float) -> ThreeWay:
    """The legs of a call answered at ``at``: citizen and call taker, no agency."""
    return ThreeWay(call_id=call_id, started_at=at, since=at)


def replay(events: Iterable[LegEvent], call_id: str = "", started_at: float | None = None) -> ThreeWay:
    """The value a stored log leads to: ``start`` (at ``started_at``, else the first event's
    time), then ``step`` each event. Raises ``IllegalTransition`` as ``step`` does."""
    log = list(events)
    value = start(call_id, started_at if started_at is not None else (log[0].at if log else 0.0))
    for event in log:
        value, _ = step(value, event)
    return value


def live_leg(value: ThreeWay) -> AgencyLeg | None:
    """The agency leg that is ringing or talking now, if any (only the last leg can be)."""
    if value.legs and value.legs[-1].ended_at is None:
        return value.legs[-1]
    return None


def parties_present(value: ThreeWay) -> frozenset[Party]:
    """Who is on the call now: the citizen (talking or on music) until they hang up, the call
    taker while in the call (not while held in reserve), the agency once its live leg answered."""
    if value.state is S.ENDED:
        return frozenset()
    present = set()
    if value.citizen_left_at is None:
        present.add(Party.CITIZEN)
    if value.state in AGENT_IN_CALL:
        present.add(Party.AGENT)
    leg = live_leg(value)
    if leg is not None and leg.answered_at is not None:
        present.add(Party.AGENCY)
    return frozenset(present)


def handling(value: ThreeWay) -> Handling:
    """The call's handling for the KPIs: transferred beats three_party beats consulted (rule 7)."""
    if value.handed_over_at is not None:
        return Handling.TRANSFERRED
    if value.conferenced_at is not None:
        return Handling.THREE_PARTY
    if any(leg.answered_at is not None for leg in value.legs):
        return Handling.CONSULTED
    return Handling.DIRECT


def _case(value: ThreeWay, event: LegEvent) -> Case:
    if isinstance(event, AgencyFailed) and event.next_number and event.next_number not in _tried(value):
        return NEXT
    return GONE if value.citizen_left_at is not None else USUAL


def _tried(value: ThreeWay) -> frozenset[str]:
    """The numbers dialled for the current request: the legs since the last first attempt."""
    tried = set()
    for leg in reversed(value.legs):
        tried.add(leg.number)
        if leg.attempt == 1:
            break
    return frozenset(tried)


def legal_events(value: ThreeWay) -> tuple[type[LegEvent], ...]:
    """The event types the table accepts for the value as it is, by name (late agency reports,
    rule 5, aside)."""
    case = GONE if value.citizen_left_at is not None else USUAL
    legal = {t for (state, t), rows in TRANSITIONS.items() if state is value.state and case in rows}
    return tuple(sorted(legal, key=lambda t: t.__name__))


def allowed(value: ThreeWay) -> frozenset[type[LegEvent]]:
    """The buttons the call taker may press now: the desk events legal for the value."""
    return frozenset(t for t in legal_events(value) if t in DESK_EVENTS)


def _is_late(value: ThreeWay, event: LegEvent) -> bool:
    """Rule 5: an agency event about a leg that has ended changes nothing."""
    if not isinstance(event, (AgencyAnswered, AgencyFailed, AgencyHungUp)):
        return False
    if event.leg is not None:
        if event.leg >= len(value.legs):
            raise IllegalTransition(value, event, f"there is no agency leg {event.leg}")
        return value.legs[event.leg].ended_at is not None
    return bool(value.legs) and value.legs[-1].ended_at is not None


def step(value: ThreeWay, event: LegEvent) -> tuple[ThreeWay, tuple[EffectCall, ...]]:
    """Return the value after ``event`` and the effects for the shell, in order.

    The input is not changed. Late reports (rule 5) return the value as it is and no effect.
    Raises ``IllegalTransition`` when the table has no row for the value's state, the event
    and the case.
    """
    if _is_late(value, event):
        return value, ()
    rows = TRANSITIONS.get((value.state, type(event)), {})
    case = _case(value, event)
    row = rows.get(case)
    if row is None:
        why = _REFUSALS.get((value.state, type(event), case), "")
        if not why and rows:  # the row exists for another case
            why = "the citizen has hung up" if case is GONE else "only once the citizen has hung up"
        raise IllegalTransition(value, event, why)
    if row.ignore:
        return value, ()
    return _apply(value, event, row)


def _apply(value: ThreeWay, event: LegEvent, row: Row) -> tuple[ThreeWay, tuple[EffectCall, ...]]:
    at = event.at
    legs = list(value.legs)
    live = len(legs) - 1 if live_leg(value) is not None else None
    agency_left = False

    def end_live(reason: LegEnd) -> None:
        nonlocal agency_left
        assert live is not None, f"call {value.call_id}: {type(event).__name__} in {value.state} has no live leg"
        agency_left = legs[live].answered_at is not None
        legs[live] = replace(legs[live], ended_at=at, end_reason=reason)

    # The leg the event reports on, then the leg an effect ends, then the leg one dials.
    if isinstance(event, AgencyAnswered):
        assert live is not None
        legs[live] = replace(legs[live], answered_at=at)
    elif isinstance(event, AgencyFailed):
        end_live(LegEnd(event.reason.value))
    elif isinstance(event, AgencyHungUp):
        end_live(LegEnd.HUNG_UP_BY_AGENCY)
    if E.HANGUP_AGENCY in row.effects:
        assert live is not None
        if legs[live].answered_at is None:
            end_live(LegEnd.CANCELLED)
        elif isinstance(event, CitizenHungUp):
            end_live(LegEnd.HUNG_UP_BY_CITIZEN)
        else:
            end_live(LegEnd.HUNG_UP_BY_AGENT)
    if E.DIAL_AGENCY in row.effects:
        legs.append(_new_leg(value, event))

    changes: dict[str, Any] = {"state": row.to, "legs": tuple(legs)}
    if row.to is not value.state:
        changes["since"] = at
    departed: list[Party] = []
    if isinstance(event, CitizenHungUp):
        changes["citizen_left_at"] = at
        departed.append(Party.CITIZEN)
    if E.AGENT_TO_WRAP_UP in row.effects:
        assert value.agent_left_at is None, f"call {value.call_id}: the call taker was released already"
        changes["agent_left_at"] = at
        departed.append(Party.AGENT)
    if agency_left:
        departed.append(Party.AGENCY)
    if value.who_left_first is None and departed:
        changes["who_left_first"] = _first_to_leave(event, departed)
    if row.to is S.CONFERENCE and value.conferenced_at is None:
        changes["conferenced_at"] = at
    if row.to is S.HANDED_OVER:
        changes["handed_over_at"] = at
    if row.to is S.ENDED:
        changes["ended_at"] = at
        requeued = E.REQUEUE_CITIZEN in row.effects
        changes["outcome"] = ThreeWayOutcome.REQUEUED if requeued else ThreeWayOutcome.FINISHED
    new = replace(value, **changes)
    return new, tuple(_call(effect, value, new, event, row) for effect in row.effects)


def _new_leg(value: ThreeWay, event: LegEvent) -> AgencyLeg:
    if isinstance(event, AgencyFailed):  # rule 2: the same request, the next number
        last = value.legs[-1]
        assert event.next_number is not None
        return AgencyLeg(last.agency_id, event.next_number, last.mode, event.at, attempt=last.attempt + 1)
    assert isinstance(event, (Consult, Conference, BlindTransfer))
    return AgencyLeg(event.agency_id, event.number, _MODES[type(event)], event.at)


_MODES: Mapping[type[LegEvent], LegMode] = {
    Consult: LegMode.CONSULT, Conference: LegMode.CONFERENCE, BlindTransfer: LegMode.BLIND,
}
# The party an event is about: it is the one that left first when several leave at once.
_PARTY_OF: Mapping[type[LegEvent], Party] = {
    CitizenHungUp: Party.CITIZEN, AgentHungUp: Party.AGENT, AgencyHungUp: Party.AGENCY,
    Leave: Party.AGENT, CompleteTransfer: Party.AGENT, AgentUnreachable: Party.AGENT,
}


def _first_to_leave(event: LegEvent, departed: list[Party]) -> Party:
    own = _PARTY_OF.get(type(event))
    return own if own in departed else departed[0]


def _call(effect: Effect, before: ThreeWay, after: ThreeWay, event: LegEvent, row: Row) -> EffectCall:
    """The effect with its arguments (rule 8)."""
    if effect is E.DIAL_AGENCY:
        return EffectCall(effect, number=after.legs[-1].number, leg=len(after.legs) - 1)
    if effect is E.HANGUP_AGENCY:
        return EffectCall(effect, leg=len(before.legs) - 1)
    if effect is E.NOTIFY_AGENT:
        if isinstance(event, AgencyFailed):
            dialled = after.legs[-1].number if E.DIAL_AGENCY in row.effects else ""
            return EffectCall(effect, number=dialled, reason=event.reason.value)
        if isinstance(event, AgentBack):  # why the citizen is back: the failed leg's reason
            last = after.legs[-1].end_reason
            return EffectCall(effect, reason=last.value if last else "")
        return EffectCall(effect, reason=_NOTICES[type(event)].value)
    if effect is E.REQUEUE_CITIZEN:
        return EffectCall(effect, reason=Notice.AGENT_UNREACHABLE.value)
    if effect is E.HANGUP_CITIZEN:
        return EffectCall(effect, reason=_NOTICES[type(event)].value)
    return EffectCall(effect)


_NOTICES: Mapping[type[LegEvent], Notice] = {
    CitizenHungUp: Notice.CITIZEN_HUNG_UP, AgencyHungUp: Notice.AGENCY_HUNG_UP, AgentHungUp: Notice.AGENT_HUNG_UP,
}


# -- storage: flat str -> str, exact round trips ---------------------------------------
#
# Floats as repr (exact), None as "", enums by value, the legs as one JSON list (JSON writes
# floats as repr too). Fields a stored hash lacks take their defaults; unknown keys are
# ignored (the hash may carry the shell's own fields).

_FLOAT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?")
_LEG_FIELDS = ("agency_id", "number", "mode", "dialled_at", "attempt", "answered_at", "ended_at", "end_reason")


def _time(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def to_dict(value: ThreeWay) -> dict[str, str]:
    """The value as a flat str->str hash; ``from_dict`` gives back an equal value."""
    legs = [{"agency_id": leg.agency_id, "number": leg.number, "mode": leg.mode.value,
             "dialled_at": leg.dialled_at, "attempt": leg.attempt, "answered_at": leg.answered_at,
             "ended_at": leg.ended_at, "end_reason": leg.end_reason.value if leg.end_reason else None}
            for leg in value.legs]
    return {
        "call_id": value.call_id,
        "started_at": _time(value.started_at),
        "state": value.state.value,
        "since": _time(value.since),
        "legs": json.dumps(legs, separators=(",", ":")),
        "citizen_left_at": _time(value.citizen_left_at),
        "agent_left_at": _time(value.agent_left_at),
        "who_left_first": value.who_left_first.value if value.who_left_first else "",
        "conferenced_at": _time(value.conferenced_at),
        "handed_over_at": _time(value.handed_over_at),
        "ended_at": _time(value.ended_at),
        "outcome": value.outcome.value,
    }


def from_dict(stored: Mapping[str, str]) -> ThreeWay:
    """Decode a hash written by ``to_dict``; raises ``BadLegData`` naming the call and field."""
    read = _Reader(stored)
    started_at = read.time("started_at")
    if started_at is None:
        raise read.fail("started_at", "is missing")
    return ThreeWay(
        call_id=stored.get("call_id", ""),
        started_at=started_at,
        state=read.enum("state", ThreeWayState, S.TWO_PARTY),
        since=_or_zero(read.time("since")),
        legs=read.legs(),
        citizen_left_at=read.time("citizen_left_at"),
        agent_left_at=read.time("agent_left_at"),
        who_left_first=read.enum("who_left_first", Party, None),
        conferenced_at=read.time("conferenced_at"),
        handed_over_at=read.time("handed_over_at"),
        ended_at=read.time("ended_at"),
        outcome=read.enum("outcome", ThreeWayOutcome, ThreeWayOutcome.IN_PROGRESS),
    )


def _or_zero(value: float | None) -> float:
    return 0.0 if value is None else value


class _Reader:
    """Field decoders for ``from_dict`` with errors that name the call and the field."""

    def __init__(self, stored: Mapping[str, str]) -> None:
        self.stored = stored
        self.who = f"three-way call {stored.get('call_id') or '?'}"

    def fail(self, name: str, problem: str) -> BadLegData:
        return BadLegData(f"{self.who}: field {name!r} {problem}: {self.stored.get(name)!r}")

    def time(self, name: str) -> float | None:
        raw = self.stored.get(name) or ""
        if not raw:
            return None
        if not _FLOAT_TEXT.fullmatch(raw):
            raise self.fail(name, "is not a finite number")
        return float(raw)

    def enum(self, name: str, kind: Any, default: Any) -> Any:
        raw = self.stored.get(name) or ""
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise self.fail(name, f"is not a known {kind.__name__} ({', '.join(kind)})") from None

    def legs(self) -> tuple[AgencyLeg, ...]:
        raw = self.stored.get("legs") or "[]"
        try:
            items = json.loads(raw)
        except ValueError:
            raise self.fail("legs", "is not JSON") from None
        if not isinstance(items, list):
            raise self.fail("legs", "is not a JSON list")
        return tuple(self._leg(i, item) for i, item in enumerate(items))

    def _leg(self, i: int, item: Any) -> AgencyLeg:
        where = f"legs[{i}]"

        def fail(problem: str) -> BadLegData:
            return BadLegData(f"{self.who}: field 'legs': {where}{problem}")

        if not isinstance(item, dict) or set(item) != set(_LEG_FIELDS):
            raise fail(f" must hold exactly {', '.join(_LEG_FIELDS)}")

        def number(name: str, optional: bool) -> float | None:
            x = item[name]
            if x is None and optional:
                return None
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise fail(f".{name} is not a finite number: {x!r}")
            return float(x)

        def enum(name: str, kind: Any, optional: bool) -> Any:
            x = item[name]
            if x is None and optional:
                return None
            try:
                return kind(x)
            except ValueError:
                raise fail(f".{name} is not a known {kind.__name__}: {x!r}") from None

        texts = {name: item[name] for name in ("agency_id", "number")}
        if not all(isinstance(x, str) and x for x in texts.values()):
            raise fail(": agency_id and number must be non-empty strings")
        attempt = item["attempt"]
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise fail(f".attempt is not a whole number from 1: {attempt!r}")
        dialled_at = number("dialled_at", False)
        assert dialled_at is not None
        return AgencyLeg(texts["agency_id"], texts["number"], enum("mode", LegMode, False), dialled_at,
                         attempt, number("answered_at", True), number("ended_at", True),
                         enum("end_reason", LegEnd, True))
