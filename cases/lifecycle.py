"""The case state machine: one record per case (work order), typed events in, a new record out.

Everything that affects a case's state lives in this file (h11 style, like
``agents.state``): the transition table ``TRANSITIONS`` is data, the few rules that depend on
more than (state, event) are listed here and implemented next to it, and there is no I/O
and no clock: ``now`` and the working-day calendar are passed in. The shell
(``hotline/store/cases.py``) stores the record and one ``case_events`` row per event.

States::

    open -HandleDirectly-> handled_directly                 (直办: answered on the call; closed)
    open -Transfer(agency)-> transferred                    (转办)
    transferred/reopened -Accept-> accepted                 (the agency signs for it)
    transferred/reopened -Return(reason)-> open             (退回: "not ours"; the hotline re-routes it)
    accepted/extended -AskForMoreTime(reason, days)-> extension_requested
    extension_requested -GrantMoreTime-> extended           (the deadline moves by the days asked)
    extension_requested -Refuse-> accepted, or extended      (back to where it was)
    accepted/extension_requested/extended -Reply(result)-> replied
    replied -FollowUpDone(satisfied, solved)-> followed_up   (or reopened: rule 3)
    replied -FollowUpUnreachable-> followed_up
    handled_directly -FollowUpDone/FollowUpUnreachable-> handled_directly   (a sampled direct case)
    handled_directly -Transfer(agency)-> transferred         (the answer on the call was not enough)
    open/replied/followed_up -Close(reason)-> closed
    replied/followed_up/closed -Reopen(reason)-> reopened    (back to the same agency)
    any state -Flag(reason, note) / Unflag(note)-> the same state   (督办 is a flag, not a state)

Deadlines, in working days of ``workorders.calendar.WorkCalendar`` (``Deadlines``, from
``cases/rules.yaml``; defaults 2 and 5):

- ``accept_due``: an open case must be transferred, and a transferred one accepted by its
  agency, within ``transfer_working_days`` of the filing (open) or of the transfer;
- ``reply_due``: the agency replies within ``handle_working_days`` of the transfer (not of
  its acceptance: a slow acceptance buys no time); an extension moves it by the days granted;
- a reopened case starts both clocks again at the reopening.

A deadline is met by an action strictly before it (``at < due``); at ``due`` the case is
overdue (as ``workorders.model.status_of``: a due date of Wednesday 00:00 means "by the end
of Tuesday").

Rules beyond the table:

1. Lateness is sticky, for the ranking: ``accepted_late`` / ``replied_late`` are set when an
   acceptance / reply comes at or after its due time, in any round, and never cleared.
2. Extensions: at most ``max_extensions`` granted per case, each of at most
   ``max_extension_working_days``, asked before ``reply_due`` (an overdue case cannot ask).
   A refusal goes back to ``extended`` if an extension was granted before, else ``accepted``.
3. An unhappy follow-up (``FollowUpDone(satisfied=False)``) always flags the case for
   supervision ("unhappy"); from ``replied`` it reopens the case at once (back to the
   agency) when ``reopen_on_unhappy`` and fewer than ``max_reopens`` reopenings were made,
   else it stays ``followed_up`` for a supervisor to decide.
4. Reopen needs an agency (a case never transferred is transferred instead) and is refused
   after ``max_reopens`` reopenings.
5. Timestamps: every event sets ``updated_at``; each step sets its own (``transferred_at``,
   ``accepted_at``, ``replied_at``...), which keep the latest round's time; none is cleared
   by a later step, so the history stays readable from the record alone.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from workorders.calendar import WorkCalendar


class CaseState(StrEnum):
    """Where a case is; the values are what the database stores."""

    OPEN = "open"
    HANDLED_DIRECTLY = "handled_directly"
    TRANSFERRED = "transferred"
    ACCEPTED = "accepted"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENDED = "extended"
    REPLIED = "replied"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    REOPENED = "reopened"


S = CaseState

# Why a case is supervised (督办); the flag is a set of these.
SUPERVISION_REASONS = ("emergency", "repeat_caller", "repeat_place", "unhappy", "overdue", "manual")
FOLLOW_UP_RESULTS = ("satisfied", "unsatisfied", "unreachable")


@dataclass(frozen=True)
class Deadlines:
    """The case rules of ``rules.yaml`` (section ``deadlines``); see the module's rules."""

    transfer_working_days: int = 2
    handle_working_days: int = 5
    max_extensions: int = 1
    max_extension_working_days: int = 10
    max_reopens: int = 2
    reopen_on_unhappy: bool = True


DEFAULT_DEADLINES = Deadlines()


# -- events -------------------------------------------------------------------------------

def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} needs a non-empty text")


@dataclass(frozen=True, slots=True)
class HandleDirectly:
    """The call taker answered the citizen on the call (直办)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """The case goes to ``agency_id`` (an id of the agency directory)."""

    agency_id: str

    def __post_init__(self) -> None:
        _text(self.agency_id, "a transfer")


@dataclass(frozen=True, slots=True)
class Return:
    """The agency sends the case back: it is not its business (退回)."""

    reason: str

    def __post_init__(self) -> None:
        _text(self.reason, "a return")


@dataclass(frozen=True, slots=True)
class Accept:
    """The agency signs for the case (签收)."""


@dataclass(frozen=True, slots=True)
class AskForMoreTime:
    """The agency asks for ``days`` more working days (延期申请), with a reason."""

    reason: str
    days: int

    def __post_init__(self) -> None:
        _text(self.reason, "a request for more time")
        if not isinstance(self.days, int) or isinstance(self.days, bool) or self.days < 1:
            raise ValueError(f"a request for more time is of 1 working day or more, not {self.days!r}")


@dataclass(frozen=True, slots=True)
class GrantMoreTime:
    """A supervisor grants the extension asked for."""

    note: str = ""


@dataclass(frozen=True, slots=True)
class Refuse:
    """A supervisor refuses the extension asked for."""

    reason: str

    def __post_init__(self) -> None:
        _text(self.reason, "a refusal")


@dataclass(frozen=True, slots=True)
class Reply:
    """The agency's reply: what it did (办理结果)."""

    result: str

    def __post_init__(self) -> None:
        _text(self.result, "a reply")


@dataclass(frozen=True, slots=True)
class FollowUpDone:
    """The citizen answered the follow-up call (回访): satisfied or not, problem solved or not
    (None: not asked)."""

    satisfied: bool
    solved: bool | None = None


@dataclass(frozen=True, slots=True)
class FollowUpUnreachable:
    """The follow-up's attempts are used up without reaching the citizen."""


@dataclass(frozen=True, slots=True)
class Close:
    """The case is closed (办结), with why."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    """The case goes back to its agency (重办), with why."""

    reason: str

    def __post_init__(self) -> None:
        _text(self.reason, "a reopening")


@dataclass(frozen=True, slots=True)
class Flag:
    """Put the case under supervision (督办) for ``reason`` (one of ``SUPERVISION_REASONS``),
    with an escalation note."""

    reason: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.reason not in SUPERVISION_REASONS:
            raise ValueError(f"a supervision reason is one of {', '.join(SUPERVISION_REASONS)}, not {self.reason!r}")


@dataclass(frozen=True, slots=True)
class Unflag:
    """End the supervision of the case (every reason), with a note."""

    note: str = ""


Event = (HandleDirectly | Transfer | Return | Accept | AskForMoreTime | GrantMoreTime | Refuse | Reply
         | FollowUpDone | FollowUpUnreachable | Close | Reopen | Flag | Unflag)
EVENT_TYPES: tuple[type, ...] = (HandleDirectly, Transfer, Return, Accept, AskForMoreTime, GrantMoreTime, Refuse,
                                 Reply, FollowUpDone, FollowUpUnreachable, Close, Reopen, Flag, Unflag)

# The whole state machine, as data: TRANSITIONS[state][event type] -> new state.
# Rules 2 and 3 may turn "accepted" into "extended" (Refuse) and "followed_up" into "reopened".
_FLAGS = {Flag: None, Unflag: None}  # legal in every state; None: the state stays
_T: dict[CaseState, dict[type, CaseState | None]] = {
    S.OPEN: {HandleDirectly: S.HANDLED_DIRECTLY, Transfer: S.TRANSFERRED, Close: S.CLOSED},
    S.HANDLED_DIRECTLY: {FollowUpDone: S.HANDLED_DIRECTLY, FollowUpUnreachable: S.HANDLED_DIRECTLY,
                         Transfer: S.TRANSFERRED},
    S.TRANSFERRED: {Accept: S.ACCEPTED, Return: S.OPEN},
    S.ACCEPTED: {AskForMoreTime: S.EXTENSION_REQUESTED, Reply: S.REPLIED},
    S.EXTENSION_REQUESTED: {GrantMoreTime: S.EXTENDED, Refuse: S.ACCEPTED, Reply: S.REPLIED},
    S.EXTENDED: {AskForMoreTime: S.EXTENSION_REQUESTED, Reply: S.REPLIED},
    S.REPLIED: {FollowUpDone: S.FOLLOWED_UP, FollowUpUnreachable: S.FOLLOWED_UP, Close: S.CLOSED,
                Reopen: S.REOPENED},
    S.FOLLOWED_UP: {Close: S.CLOSED, Reopen: S.REOPENED},
    S.CLOSED: {Reopen: S.REOPENED},
    S.REOPENED: {Accept: S.ACCEPTED, Return: S.OPEN},
}
TRANSITIONS: Mapping[CaseState, Mapping[type, CaseState]] = {
    state: {event: (target if target is not None else state) for event, target in {**row, **_FLAGS}.items()}
    for state, row in _T.items()
}

# States where the case is done with (handled on the call, or closed).
FINISHED = frozenset({S.HANDLED_DIRECTLY, S.CLOSED})
# States where the agency has yet to accept, and has yet to reply.
AWAITING_ACCEPT = frozenset({S.TRANSFERRED, S.REOPENED})
AWAITING_REPLY = frozenset({S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.EXTENSION_REQUESTED, S.EXTENDED})


class IllegalTransition(Exception):
    """An event the case's state (or a rule) does not allow; the shell answers 409 and keeps
    the old record."""

    def __init__(self, case_number: str, state: CaseState, event: Event, detail: str = "") -> None:
        legal = ", ".join(sorted(t.__name__ for t in TRANSITIONS[state])) or "none"
        why = f": {detail}" if detail else ""
        super().__init__(f"case {case_number}: {type(event).__name__} is illegal in state {state.value}{why} "
                         f"(legal: {legal})")
        self.case_number = case_number
        self.state = state
        self.event = event
        self.detail = detail


# -- the record ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One case. Times are aware datetimes; facts of the filing (caller, category, district,
    address, request, emergency) are copied from the work order for supervision and for the
    agency, who never reads the call records."""

    case_number: str
    call_id: str
    opened_at: datetime
    updated_at: datetime
    state: CaseState = S.OPEN
    agency_id: str | None = None
    caller: str = ""
    category: str = ""
    district: str = ""
    address: str = ""
    request: str = ""
    emergency: bool = False
    accept_due: datetime | None = None
    reply_due: datetime | None = None
    handled_at: datetime | None = None
    transferred_at: datetime | None = None
    accepted_at: datetime | None = None
    extension_requested_at: datetime | None = None
    extended_at: datetime | None = None
    replied_at: datetime | None = None
    followed_up_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_at: datetime | None = None
    supervised_at: datetime | None = None
    accepted_late: bool = False
    replied_late: bool = False
    extension_count: int = 0
    extension_days: int = 0
    pending_extension_days: int | None = None
    pending_extension_reason: str = ""
    result: str = ""
    follow_up_result: str | None = None
    satisfied: bool | None = None
    solved: bool | None = None
    reopen_count: int = 0
    close_reason: str = ""
    supervision: tuple[str, ...] = ()

    @property
    def supervised(self) -> bool:
        return bool(self.supervision)


def open_case(case_number: str, call_id: str, now: datetime, calendar: WorkCalendar,
              deadlines: Deadlines = DEFAULT_DEADLINES, **facts: Any) -> Case:
    """A new case in state ``open`` at ``now``: the hotline has ``transfer_working_days`` to
    transfer it (``accept_due``). ``facts``: caller, category, district, address, request,
    emergency. Raises ``OutsideCalendar`` when the calendar cannot place the deadline."""
    return Case(case_number=case_number, call_id=call_id, opened_at=now, updated_at=now,
                accept_due=calendar.add_working_days(now, deadlines.transfer_working_days), **facts)


# -- queries ------------------------------------------------------------------------------

def overdue(case: Case, now: datetime) -> tuple[str, ...]:
    """The deadlines the case has missed at ``now``, as the state sees them: ``transfer``
    (open, not transferred in time), ``accept`` (not accepted in time), ``reply`` (not
    replied in time). Empty: on time (or done)."""
    missed: list[str] = []
    if case.state is S.OPEN and _passed(case.accept_due, now):
        missed.append("transfer")
    if case.state in AWAITING_ACCEPT and _passed(case.accept_due, now):
        missed.append("accept")
    if case.state in AWAITING_REPLY and _passed(case.reply_due, now):
        missed.append("reply")
    return tuple(missed)


def _passed(due: datetime | None, at: datetime) -> bool:
    return due is not None and at >= due


def allowed(case: Case, now: datetime, deadlines: Deadlines = DEFAULT_DEADLINES) -> tuple[str, ...]:
    """The names of the events legal now (the table, and the guards that depend on the case
    alone), sorted: what a page offers as buttons."""
    names = []
    for event_type in TRANSITIONS[case.state]:
        guard = _GUARDS.get(event_type)
        if guard is None or guard(case, None, now, deadlines) is None:
            names.append(event_type.__name__)
    return tuple(sorted(names))


# -- transitions --------------------------------------------------------------------------

def apply(case: Case, event: Event, now: datetime, calendar: WorkCalendar,
          deadlines: Deadlines = DEFAULT_DEADLINES) -> Case:
    """The case after ``event`` at ``now`` (the input is not changed).

    Raises ``IllegalTransition`` when the table or a rule forbids the event, and
    ``workorders.calendar.OutsideCalendar`` when a deadline falls outside the calendar.
    """
    target = TRANSITIONS[case.state].get(type(event))
    if target is None:
        raise IllegalTransition(case.case_number, case.state, event)
    guard = _GUARDS.get(type(event))
    problem = guard(case, event, now, deadlines) if guard else None
    if problem:
        raise IllegalTransition(case.case_number, case.state, event, problem)
    step = _Step(case, now, calendar, deadlines)
    return replace(_EFFECTS[type(event)](step, event, target), updated_at=now)


Guard = Callable[[Case, Any, datetime, Deadlines], str | None]


def _ask_guard(case: Case, event: AskForMoreTime | None, now: datetime, d: Deadlines) -> str | None:
    if case.extension_count >= d.max_extensions:
        return f"{case.extension_count} extension(s) granted already (at most {d.max_extensions})"
    if _passed(case.reply_due, now):
        return f"the reply was due {case.reply_due:%Y-%m-%d %H:%M}: an overdue case cannot ask for more time"
    if event is not None and event.days > d.max_extension_working_days:
        return f"{event.days} working days asked, at most {d.max_extension_working_days}"
    return None


def _reopen_guard(case: Case, event: Reopen | None, now: datetime, d: Deadlines) -> str | None:
    if not case.agency_id:
        return "the case was never transferred: transfer it to an agency instead"
    if case.reopen_count >= d.max_reopens:
        return f"reopened {case.reopen_count} time(s) already (at most {d.max_reopens})"
    return None


_GUARDS: Mapping[type, Guard] = {AskForMoreTime: _ask_guard, Reopen: _reopen_guard}


@dataclass(frozen=True)
class _Step:
    """What an effect needs besides the event: the case, the time, the calendar, the rules."""

    case: Case
    now: datetime
    calendar: WorkCalendar
    deadlines: Deadlines

    def due(self, days: int, start: datetime | None = None) -> datetime:
        return self.calendar.add_working_days(start or self.now, days)

    def to(self, target: CaseState, **changes: Any) -> Case:
        return replace(self.case, state=target, **changes)

    def round_starts(self, target: CaseState, **changes: Any) -> Case:
        """The case handed to its agency: both clocks start now."""
        d = self.deadlines
        return self.to(target, accept_due=self.due(d.transfer_working_days),
                       reply_due=self.due(d.handle_working_days), pending_extension_days=None,
                       pending_extension_reason="", closed_at=None, close_reason="", **changes)


Effect = Callable[[_Step, Any, CaseState], Case]


def _handle_directly(s: _Step, e: HandleDirectly, target: CaseState) -> Case:
    return s.to(target, handled_at=s.now, closed_at=s.now, accept_due=None, reply_due=None)


def _transfer(s: _Step, e: Transfer, target: CaseState) -> Case:
    return s.round_starts(target, agency_id=e.agency_id, transferred_at=s.now)


def _return(s: _Step, e: Return, target: CaseState) -> Case:
    return s.to(target, agency_id=None, accept_due=s.due(s.deadlines.transfer_working_days), reply_due=None)


def _accept(s: _Step, e: Accept, target: CaseState) -> Case:
    late = s.case.accepted_late or _passed(s.case.accept_due, s.now)
    return s.to(target, accepted_at=s.now, accepted_late=late)


def _ask(s: _Step, e: AskForMoreTime, target: CaseState) -> Case:
    return s.to(target, extension_requested_at=s.now, pending_extension_days=e.days,
                pending_extension_reason=e.reason.strip())


def _grant(s: _Step, e: GrantMoreTime, target: CaseState) -> Case:
    days = s.case.pending_extension_days or 0
    reply_due = s.due(days, s.case.reply_due) if s.case.reply_due is not None else None
    return s.to(target, extended_at=s.now, reply_due=reply_due, extension_count=s.case.extension_count + 1,
                extension_days=s.case.extension_days + days, pending_extension_days=None,
                pending_extension_reason="")


def _refuse(s: _Step, e: Refuse, target: CaseState) -> Case:
    back = S.EXTENDED if s.case.extension_count > 0 else target  # rule 2
    return s.to(back, pending_extension_days=None, pending_extension_reason="")


def _reply(s: _Step, e: Reply, target: CaseState) -> Case:
    late = s.case.replied_late or _passed(s.case.reply_due, s.now)
    return s.to(target, replied_at=s.now, replied_late=late, result=e.result.strip(), pending_extension_days=None,
                pending_extension_reason="")


def _followed_up(s: _Step, e: FollowUpDone, target: CaseState) -> Case:
    done = s.to(target, followed_up_at=s.now, satisfied=e.satisfied, solved=e.solved,
                follow_up_result="satisfied" if e.satisfied else "unsatisfied")
    if e.satisfied:
        return done
    done = replace(done, supervision=_with(done.supervision, "unhappy"), supervised_at=done.supervised_at or s.now)
    d = s.deadlines
    if s.case.state is S.REPLIED and d.reopen_on_unhappy and _reopen_guard(done, None, s.now, d) is None:
        return _reopen(_Step(done, s.now, s.calendar, d), Reopen("the citizen is not satisfied"), S.REOPENED)
    return done


def _unreachable(s: _Step, e: FollowUpUnreachable, target: CaseState) -> Case:
    return s.to(target, followed_up_at=s.now, follow_up_result="unreachable")


def _close(s: _Step, e: Close, target: CaseState) -> Case:
    return s.to(target, closed_at=s.now, close_reason=e.reason.strip())


def _reopen(s: _Step, e: Reopen, target: CaseState) -> Case:
    return s.round_starts(target, reopened_at=s.now, reopen_count=s.case.reopen_count + 1)


def _flag(s: _Step, e: Flag, target: CaseState) -> Case:
    return s.to(target, supervision=_with(s.case.supervision, e.reason), supervised_at=s.case.supervised_at or s.now)


def _unflag(s: _Step, e: Unflag, target: CaseState) -> Case:
    return s.to(target, supervision=(), supervised_at=None)


def _with(reasons: tuple[str, ...], reason: str) -> tuple[str, ...]:
    """The reasons with ``reason`` added, in ``SUPERVISION_REASONS`` order (a stable value)."""
    return tuple(r for r in SUPERVISION_REASONS if r in reasons or r == reason)


_EFFECTS: Mapping[type, Effect] = {
    HandleDirectly: _handle_directly, Transfer: _transfer, Return: _return, Accept: _accept, AskForMoreTime: _ask,
    GrantMoreTime: _grant, Refuse: _refuse, Reply: _reply, FollowUpDone: _followed_up,
    FollowUpUnreachable: _unreachable, Close: _close, Reopen: _reopen, Flag: _flag, Unflag: _unflag,
}


# -- the work order's side ------------------------------------------------------------------

def events_for_order(case: Case | None, handling: str, agency_id: str | None) -> list[Event]:
    """What a (re)saved work order means for its case: a new case is transferred or handled
    directly; an order changed from direct to transferred transfers the case; a transfer
    changed to another agency before it was accepted returns it and transfers it again.
    Anything else (the order corrected after the agency took the case) changes nothing."""
    state = case.state if case is not None else S.OPEN
    if handling == "transferred" and agency_id:
        if state in (S.OPEN, S.HANDLED_DIRECTLY):
            return [Transfer(agency_id)]
        if state is S.TRANSFERRED and case is not None and case.agency_id != agency_id:
            return [Return("the hotline changed the agency of the work order"), Transfer(agency_id)]
        return []
    if handling == "direct" and state is S.OPEN:
        return [HandleDirectly()]
    return []


# -- events as stored data ----------------------------------------------------------------

def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


EVENT_KINDS: Mapping[type, str] = {t: _snake(t.__name__) for t in EVENT_TYPES}
_BY_KIND: Mapping[str, type] = {kind: t for t, kind in EVENT_KINDS.items()}


def event_kind(event: Event) -> str:
    """``AskForMoreTime(...)`` -> ``ask_for_more_time`` (the ``case_events.kind``)."""
    return EVENT_KINDS[type(event)]


def event_data(event: Event) -> dict[str, Any]:
    """The event's fields as JSON values (the ``case_events.data``)."""
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def event_from(kind: str, data: Mapping[str, Any]) -> Event:
    """The event back from its kind and data; ``ValueError`` for an unknown kind or fields."""
    event_type = _BY_KIND.get(kind)
    if event_type is None:
        raise ValueError(f"unknown case event kind {kind!r}")
    try:
        return event_type(**data)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"case event {kind}: {exc}") from None
