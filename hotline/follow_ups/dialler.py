"""The follow-up dialler: the router's leader calls citizens back about their cases (回访).

Every ``tick`` seconds the leader asks the cases for the follow-ups due now
(``Cases.due_follow_ups``, then ``cases.followup.due`` for the quiet hours), and the pacing
rule how many may start (``cases.followup.pacing`` with the live line figures: none while
a line misses its service level or a citizen waits too long; a cap per minute and at
once). For each one it may start, it:

1. checks the citizen's number against the number policy (``outbound/citizen_numbers.yaml``:
   a case's caller is dialled only if the hotline may call that number);
2. takes the try (``Cases.claim_attempt``: a lease on the follow-up, so no other controller
   and no later leader dials the citizen again while this try runs);
3. originates the citizen's leg through the outbound trunk into ``hotline-followup``, whose
   FastAGI session (``hotline.follow_ups.session``) runs the follow-up flow once the
   citizen answers.

A try that is not answered (no answer, busy, failed: AMI ``OriginateResponse``) is recorded
at once (``Cases.record_attempt``: retried later, or unreachable after the last try); an
answered one by its session. Each try is also a call record (``source`` ``follow_up``; the
KPIs of inbound calls leave them out). A try nobody reported on (its session never ran)
is recorded as failed once its lease is over.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable

from calls.records import CallEvent, CallRecord
from cases.followup import FollowUp, LineFigures, Pacing, call_id_of, due, pacing
from cases.rules import CaseRules
from hotline.api.ports_cases import Cases
from hotline.asterisk.ami_events import OriginateResult
from hotline.config import ConfigHolder
from hotline.ports import RecordSink
from hotline.settings import Settings
from outbound import trunk_dial_target

log = logging.getLogger(__name__)

Originate = Callable[..., Awaitable[None]]
Figures = Callable[[float, float], Awaitable[list[LineFigures]]]
LEASE_SECONDS = 600.0  # an answered try's session has this long (after the ring) to report
CONTEXT = "hotline-followup"
# AMI OriginateResponse Reason codes (Asterisk's AST_CONTROL_*): what a try that was not
# answered is recorded as.
REASONS = {"1": "no_answer", "3": "no_answer", "5": "busy", "8": "failed", "0": "failed"}


def outcome_of(reason: str) -> str:
    """The attempt outcome of an Originate that did not connect."""
    return REASONS.get(reason.strip(), "failed")


@dataclass
class Attempt:
    """One follow-up call in progress (on this controller)."""

    case_number: str
    channel_id: str
    number: str
    language: str
    started_at: float
    attempt: int
    call_id: str = ""            # the case's original call
    answered_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FollowUpDialler:
    """Places follow-up calls on the leader (``leads``), paced; owns the tries in progress."""

    def __init__(self, settings: Settings, clock: Callable[[], float], config: ConfigHolder, cases: Cases,
                 originate: Originate, figures: Figures, language_of: Callable[[str], Awaitable[str]],
                 leads: Callable[[], bool], records: RecordSink, tick: float = 5.0) -> None:
        self._settings = settings
        self._clock = clock
        self._config = config
        self._cases = cases
        self._originate = originate
        self._figures = figures
        self._language_of = language_of
        self._leads = leads
        self._records = records
        self._tick = tick
        self.active: dict[str, Attempt] = {}          # channel id -> try in progress
        self._started: deque[datetime] = deque(maxlen=1000)
        self.last_pacing: Pacing | None = None

    def rules(self) -> CaseRules:
        return self._cases.rules()

    @property
    def enabled(self) -> bool:
        """Follow-up calls need a carrier to call citizens through."""
        return bool(self._settings.outbound_trunk)

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self._cases.tz())

    async def run(self) -> None:
        """The dialler's loop (the controller owns its task); only the leader dials."""
        failing = False
        while True:
            await asyncio.sleep(self._tick)
            if not self.enabled or not self._leads():
                continue
            try:
                await self.step(self._clock())
                failing = False
            except Exception as exc:  # the database or Redis away: try again next tick
                if not failing:
                    log.warning("follow-up dialler: step failed (said once until it works again): %s", exc)
                failing = True

    async def step(self, now: float) -> int:
        """One look at the due follow-ups; returns how many calls were started."""
        rules = self._cases.rules()
        await self._expire(now, rules.follow_up.ring_seconds)
        busy = {a.case_number for a in self.active.values()}
        ready = [f for f in due(await self._cases.due_follow_ups(now), self._at(now), self._cases.tz(),
                                rules.follow_up) if f.case_number not in busy]
        if not ready:
            return 0
        lines = await self._figures(now, rules.pacing.service_level_window_minutes * 60.0)
        decision = pacing(lines, len(self.active), self._started, self._at(now), rules.pacing)
        if self.last_pacing is None or decision.reason != self.last_pacing.reason:
            (log.info if decision.go or not decision.paused else log.warning)(
                "follow-up calls: %s (%d due)", decision.reason, len(ready))
        self.last_pacing = decision
        started = 0
        for follow_up in ready[:decision.go]:
            started += await self._dial(follow_up, now)
        return started

    async def _dial(self, follow_up: FollowUp, now: float) -> int:
        rules = self._cases.rules().follow_up
        case = await self._cases.get(follow_up.case_number)
        if case is None:
            return 0
        verdict = self._config.current.citizen_numbers.check(case.caller)
        if not verdict.allowed or not verdict.number:
            log.warning("follow-up of case %s: number %r refused (%s): not dialled", case.case_number, case.caller,
                        verdict.rule)
            if await self._cases.claim_attempt(case.case_number, now, now + LEASE_SECONDS):
                await self._cases.record_attempt(case.case_number, "failed", now)
            return 0
        if not await self._cases.claim_attempt(case.case_number, now, now + rules.ring_seconds + LEASE_SECONDS):
            return 0  # another controller took it
        language = await self._language_of(case.call_id) if case.call_id else ""
        attempt = Attempt(case.case_number, call_id_of(case.case_number, follow_up.attempts + 1, now),
                          verdict.number, language or "zh", now, follow_up.attempts + 1, call_id=case.call_id)
        self.active[attempt.channel_id] = attempt
        self._started.append(self._at(now))
        agi = self._settings.agi_url(f"{self._settings.agi_host}:{self._settings.agi_port}")
        try:
            await self._originate(
                trunk_dial_target(verdict.number, "trunk-out"), CONTEXT, "s", timeout_ms=rules.ring_seconds * 1000,
                channel_id=attempt.channel_id, caller_id=f'"12345" <{rules.agent_number}>',
                variables={"HOTLINE_FOLLOWUP_CASE": case.case_number, "HOTLINE_FOLLOWUP_AGI": agi})
        except Exception as exc:
            log.error("follow-up of case %s: originate failed: %s", case.case_number, exc)
            await self.finish(attempt, "failed", self._clock(), dial_status="ORIGINATE_FAILED")
            return 0
        log.info("follow-up of case %s: try %d, calling the citizen", case.case_number, attempt.attempt)
        return 1

    def on_originate_result(self, event: OriginateResult) -> Awaitable[None] | None:
        """The citizen's leg was answered (its session reports) or not (recorded now).
        Returns the work to run (the caller owns the task), or None."""
        attempt = self.active.get(event.uniqueid)
        if attempt is None or event.success:
            return None
        outcome = outcome_of(event.reason)
        log.info("follow-up of case %s: try %d not answered (%s)", attempt.case_number, attempt.attempt, outcome)
        return self.finish(attempt, outcome, self._clock(), dial_status=f"reason {event.reason}")

    async def finish(self, attempt: Attempt, outcome: str, now: float, *, satisfied: bool | None = None,
                     solved: bool | None = None, dial_status: str = "", attrs: dict[str, Any] | None = None,
                     recording: str = "", to_agent: bool = False) -> None:
        """Record the try on the case and as a call record; the try is over. ``to_agent``:
        the citizen was put through to a call taker, who follows up by hand."""
        if attempt.extra.get("finished"):
            return  # reported twice (a late OriginateResponse after the session): once is enough
        attempt.extra["finished"] = True
        self.active.pop(attempt.channel_id, None)
        state = "?"
        try:
            follow_up, case = await self._cases.record_attempt(attempt.case_number, outcome, now,
                                                               satisfied=satisfied, solved=solved,
                                                               to_agent=to_agent)
            state = follow_up.state
            log.info("follow-up of case %s: try %d %s; follow-up %s, case %s", attempt.case_number, attempt.attempt,
                     outcome, follow_up.state, case.state.value)
        except Exception as exc:  # the case changed meanwhile (closed by hand) or the database is away
            log.warning("follow-up of case %s: try %d (%s) not recorded on the case: %s", attempt.case_number,
                        attempt.attempt, outcome, exc)
        record = CallRecord(call_id=attempt.channel_id, caller=attempt.number, dnis="follow_up",
                            arrived_at=attempt.started_at, source="follow_up",
                            outcome="answered" if attempt.answered_at is not None else outcome,
                            language=attempt.language, answered_at=attempt.answered_at, ended_at=now,
                            recording=recording,
                            attrs={"case_number": attempt.case_number, "attempt": attempt.attempt,
                                   "follow_up_of": attempt.call_id, "follow_up_state": state,
                                   **({"dial_status": dial_status} if dial_status else {}), **(attrs or {})})
        events = [CallEvent(attempt.channel_id, attempt.started_at, "follow_up_dialled",
                            {"case_number": attempt.case_number, "attempt": attempt.attempt}),
                  CallEvent(attempt.channel_id, now, "ended", {"outcome": record.outcome})]
        await self._records.write(record, events)

    async def _expire(self, now: float, ring_seconds: float) -> None:
        """Tries nobody reported on within their lease: failed (their session never ran)."""
        for attempt in list(self.active.values()):
            if now - attempt.started_at > ring_seconds + LEASE_SECONDS:
                log.warning("follow-up of case %s: try %d never reported; recorded as failed", attempt.case_number,
                            attempt.attempt)
                await self.finish(attempt, "failed", now, dial_status="NO_REPORT")
