"""Follow-up calls (回访): when one is due, when it may ring, how often it is retried, what its
answer does to the case, and how fast follow-ups may be dialled without hurting inbound calls.

Why pure: the dialler (the lead's, on the outbound trunk of real Asterisk) only asks
questions with the live figures and the clock in hand; the answers are decided here and
tested without a phone. The numbers come from ``cases/rules.yaml`` (``FollowUpRules``,
``PacingRules``).

The rules:

- Due (``reason_for``): after an agency's reply (``after_reply``), and for a sample of the
  cases handled directly on the call: ``direct_sample_percent`` of them, chosen by a hash
  of the case number (``sampled``), so the choice is the same on every controller and
  after a restart, and cannot be steered by the call taker.
- When (``schedule``): first attempt ``delay_minutes`` after the reply or the direct
  handling, moved out of the quiet hours (``quiet``: local clock periods such as
  21:00-08:30 and 12:00-13:30, a period may cross midnight); to be done by ``due_by``
  (``window_hours`` after it was due; the supervisors see late ones).
- Retries (``after_attempt``): a call not answered, busy or failed is tried again
  ``retry_after_minutes`` later (again out of the quiet hours), ``attempts`` tries in all;
  then the follow-up is ``unreachable``. An answered call with a rating is ``done``. A
  citizen who asked for a call taker is that call taker's to follow up: no automated try
  is made again (the call taker records the answer by hand, ``POST .../follow-up``), the
  follow-up stays scheduled until then and shows as late after its window.
- The case (``case_events``): a satisfied answer is ``FollowUpDone`` then ``Close`` (when
  ``close_when_satisfied``); an unhappy one ``FollowUpDone(satisfied=False)``, which reopens
  and flags the case (``cases.lifecycle`` rule 3); unreachable is ``FollowUpUnreachable``,
  then ``Close`` when ``close_when_unreachable``.
- Pacing (``pacing``): no follow-up starts while any line's service level over the last
  ``service_level_window_minutes`` is under its target, or a caller has waited more than
  ``max_wait_seconds``; otherwise at most ``max_concurrent`` at once and ``max_per_minute``
  started per minute.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo

from cases.lifecycle import Case, CaseState, Close, Event, FollowUpDone, FollowUpUnreachable

OUTCOMES = ("answered", "no_answer", "busy", "failed")
STATES = ("scheduled", "done", "unreachable", "cancelled")
REASONS = ("reply", "direct_sample")
WAITS_FOR_FOLLOW_UP = frozenset({CaseState.REPLIED, CaseState.HANDLED_DIRECTLY})


@dataclass(frozen=True)
class QuietPeriod:
    """Local clock times when no follow-up rings: ``start`` to ``end`` (``end`` before
    ``start``: across midnight)."""

    start: time
    end: time

    def contains(self, at: time) -> bool:
        if self.start <= self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end


@dataclass(frozen=True)
class FollowUpRules:
    """Section ``follow_up`` of ``rules.yaml``."""

    after_reply: bool = True
    direct_sample_percent: float = 10.0
    delay_minutes: int = 60
    window_hours: float = 72.0
    quiet: tuple[QuietPeriod, ...] = (QuietPeriod(time(21, 0), time(8, 30)), QuietPeriod(time(12, 0), time(13, 30)))
    attempts: int = 3
    retry_after_minutes: float = 120.0
    close_when_satisfied: bool = True
    close_when_unreachable: bool = True
    ring_seconds: int = 30          # how long the citizen's phone rings per try
    agent_number: str = "12345"     # the hotline number a citizen who asks for a person is put through to


@dataclass(frozen=True)
class PacingRules:
    """Section ``pacing`` of ``rules.yaml``."""

    service_level_window_minutes: float = 15.0
    max_wait_seconds: float = 30.0
    max_per_minute: int = 2
    max_concurrent: int = 2


DEFAULT_FOLLOW_UP = FollowUpRules()
DEFAULT_PACING = PacingRules()


# -- the follow-up call's id ------------------------------------------------------------------

_CALL_ID = re.compile(r"fu\d+-\d+-(?P<case>[A-Za-z0-9][A-Za-z0-9-]{0,100})")


def call_id_of(case_number: str, attempt: int, now: float) -> str:
    """The Asterisk channel id (Uniqueid) of a follow-up try: ``fu<ms>-<attempt>-<case>``.
    The same channel becomes an inbound call when the citizen asks for a call taker, so its
    id tells that call's session (on any controller) whose follow-up the call taker now owns."""
    return f"fu{int(now * 1000)}-{attempt}-{case_number}"[:120]


def case_of_call(call_id: str) -> str | None:
    """The case number a follow-up try's channel id carries (``call_id_of``), else None."""
    m = _CALL_ID.fullmatch(call_id)
    return m.group("case") if m else None


# -- due, and when --------------------------------------------------------------------------

def sampled(case_number: str, percent: float) -> bool:
    """Whether the case is in the ``percent`` % sample: the first 8 bytes of the SHA-256 of
    its number, modulo 10,000, under ``percent`` x 100 (so 0 % picks none, 100 % all)."""
    bucket = int.from_bytes(hashlib.sha256(case_number.encode("utf-8")).digest()[:8], "big") % 10_000
    return bucket < round(percent * 100)


def reason_for(case: Case, rules: FollowUpRules = DEFAULT_FOLLOW_UP) -> str | None:
    """Why the case needs a follow-up now (``reply`` or ``direct_sample``), or None."""
    if case.state is CaseState.REPLIED and rules.after_reply:
        return "reply"
    if case.state is CaseState.HANDLED_DIRECTLY and case.follow_up_result is None \
            and sampled(case.case_number, rules.direct_sample_percent):
        return "direct_sample"
    return None


def quiet_at(moment: datetime, rules: FollowUpRules, tz: tzinfo) -> bool:
    """Whether ``moment`` (aware) falls in the quiet hours, on the local clock of ``tz``."""
    clock = moment.astimezone(tz).time()
    return any(p.contains(clock) for p in rules.quiet)


def next_allowed(moment: datetime, rules: FollowUpRules, tz: tzinfo) -> datetime:
    """``moment`` itself, or the end of the quiet period it falls in (then checked again:
    two periods may touch), in ``tz``. Raises ValueError if the quiet hours cover the
    whole day (the file's validation refuses that already)."""
    at = moment.astimezone(tz)
    for _ in range(len(rules.quiet) + 1):
        period = next((p for p in rules.quiet if p.contains(at.time())), None)
        if period is None:
            return at
        end = datetime.combine(at.date(), period.end, tzinfo=tz)
        at = end if end > at else end + timedelta(days=1)
    raise ValueError("the quiet hours leave no time to call")


@dataclass(frozen=True)
class FollowUp:
    """One follow-up of one case: when it became due, by when it should be done, its next
    try, how many tries were made, and how it ended (``state``, ``result``)."""

    case_number: str
    reason: str
    ready_at: datetime
    due_by: datetime
    next_attempt_at: datetime | None
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_outcome: str | None = None
    state: str = "scheduled"
    result: str | None = None
    satisfied: bool | None = None
    solved: bool | None = None


def schedule(case: Case, ready_at: datetime, tz: tzinfo, rules: FollowUpRules = DEFAULT_FOLLOW_UP
             ) -> FollowUp | None:
    """The follow-up the case needs from ``ready_at`` (its reply or direct handling), or None."""
    reason = reason_for(case, rules)
    if reason is None:
        return None
    first = next_allowed(ready_at + timedelta(minutes=rules.delay_minutes), rules, tz)
    return FollowUp(case.case_number, reason, ready_at, ready_at + timedelta(hours=rules.window_hours), first)


def after_change(before: Case, after: Case, now: datetime, tz: tzinfo, rules: FollowUpRules = DEFAULT_FOLLOW_UP
                 ) -> FollowUp | None:
    """The follow-up to schedule because the case just became replied (or handled
    directly), or None. The shell schedules it unless one is scheduled already."""
    if after.state is before.state or after.state not in WAITS_FOR_FOLLOW_UP:
        return None
    return schedule(after, now, tz, rules)


def cancels(case: Case) -> bool:
    """Whether a scheduled follow-up of the case is void now (closed, reopened, transferred
    again: nothing of it waits for the citizen's answer)."""
    return case.state not in WAITS_FOR_FOLLOW_UP


def due(follow_ups: Iterable[FollowUp], now: datetime, tz: tzinfo,
        rules: FollowUpRules = DEFAULT_FOLLOW_UP) -> list[FollowUp]:
    """The follow-ups to try at ``now``, oldest try first; none during the quiet hours."""
    if quiet_at(now, rules, tz):
        return []
    ready = [f for f in follow_ups if f.state == "scheduled" and f.next_attempt_at is not None
             and f.next_attempt_at <= now]
    return sorted(ready, key=lambda f: (f.next_attempt_at, f.case_number))


def after_attempt(follow_up: FollowUp, outcome: str, now: datetime, tz: tzinfo,
                  rules: FollowUpRules = DEFAULT_FOLLOW_UP, *, satisfied: bool | None = None,
                  solved: bool | None = None, to_agent: bool = False) -> FollowUp:
    """The follow-up after one try at ``now``: ``answered`` with ``satisfied`` given is done;
    answered without a rating but put through to a call taker (``to_agent``) waits for that
    call taker's answer, with no automated try again (the next one would ring the citizen
    while they talk to the call taker); anything else (an answer without a rating included)
    is retried, or unreachable once ``attempts`` tries were made. Raises ValueError for a
    follow-up that is not scheduled or an unknown outcome."""
    if follow_up.state != "scheduled":
        raise ValueError(f"the follow-up of case {follow_up.case_number} is {follow_up.state}, not scheduled")
    if outcome not in OUTCOMES:
        raise ValueError(f"an attempt's outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}")
    tried = replace(follow_up, attempts=follow_up.attempts + 1, last_attempt_at=now, last_outcome=outcome)
    if outcome == "answered" and satisfied is not None:
        return replace(tried, state="done", next_attempt_at=None, satisfied=satisfied, solved=solved,
                       result="satisfied" if satisfied else "unsatisfied")
    if outcome == "answered" and to_agent:
        return replace(tried, next_attempt_at=None)
    if tried.attempts >= rules.attempts:
        return replace(tried, state="unreachable", next_attempt_at=None, result="unreachable")
    return replace(tried, next_attempt_at=next_allowed(now + timedelta(minutes=rules.retry_after_minutes), rules, tz))


def case_events(case: Case, follow_up: FollowUp, rules: FollowUpRules = DEFAULT_FOLLOW_UP) -> list[Event]:
    """The case events a finished follow-up means (see the module's rules); none while it
    is still scheduled or was cancelled."""
    closes = case.state is CaseState.REPLIED
    if follow_up.state == "done" and follow_up.satisfied is not None:
        events: list[Event] = [FollowUpDone(follow_up.satisfied, follow_up.solved)]
        if follow_up.satisfied and closes and rules.close_when_satisfied:
            events.append(Close("the citizen is satisfied (follow-up call)"))
        return events
    if follow_up.state == "unreachable":
        events = [FollowUpUnreachable()]
        if closes and rules.close_when_unreachable:
            events.append(Close(f"the citizen could not be reached ({follow_up.attempts} follow-up calls)"))
        return events
    return []


# -- pacing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineFigures:
    """One inbound line, live: its service level over the last window (answered within the
    target time / offered; None when nothing was offered), the target, and the longest
    wait of the callers waiting now."""

    line: str
    service_level: float | None
    target: float
    longest_wait_seconds: float = 0.0
    waiting: int = 0


@dataclass(frozen=True)
class Pacing:
    """How many follow-up calls may start now (``go``), and why (``reason``)."""

    go: int
    paused: bool
    reason: str


def pacing(lines: Sequence[LineFigures], active: int, started: Iterable[datetime], now: datetime,
           rules: PacingRules = DEFAULT_PACING) -> Pacing:
    """The pacing decision at ``now``: paused while any line is under its service-level
    target or a caller waits beyond ``max_wait_seconds``; else capped by the follow-ups on
    the line now (``active``) and those ``started`` in the last minute."""
    for line in lines:
        if line.service_level is not None and line.service_level < line.target:
            return Pacing(0, True, f"line {line.line}: service level {line.service_level:.0%} under its target "
                                   f"{line.target:.0%} (last {rules.service_level_window_minutes:g} min)")
        if line.longest_wait_seconds > rules.max_wait_seconds:
            return Pacing(0, True, f"line {line.line}: a caller has waited {line.longest_wait_seconds:.0f} s "
                                   f"(more than {rules.max_wait_seconds:g} s)")
    recent = sum(1 for at in started if now - timedelta(minutes=1) < at <= now)
    go = max(0, min(rules.max_concurrent - active, rules.max_per_minute - recent))
    if go == 0:
        return Pacing(0, False, f"rate cap: {active} follow-up(s) on the line (at most {rules.max_concurrent}), "
                                f"{recent} started in the last minute (at most {rules.max_per_minute})")
    return Pacing(go, False, "inbound lines within their targets")
