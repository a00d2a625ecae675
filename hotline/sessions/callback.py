"""A callback: a citizen who accepted a callback while waiting is called back by an agent.

The request kept its place in line (``LiveState.make_callback``); when the router assigns it
an agent, ``CallbackDialer.place`` originates the agent's leg. Once the agent answers,
Asterisk opens a FastAGI session on that leg (``run_session``), which dials the citizen
through the outbound trunk and writes the record of this attempt, linked to the original call.

A citizen who does not answer (or is busy, or unreachable) is tried again: the request goes
back in line at its old place, not before the queue's ``callback_retry_after``, up to
``callback_attempts`` tries in all. A promise to call back is not dropped after one ring.
Only a number the citizen-number policy allows is ever dialled (outbound/citizen_numbers.py).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from calls.records import CallEvent, CallRecord
from hotline.asterisk.agi_server import AgiChannel, ChannelGone
from hotline.asterisk.ami_events import OriginateResult
from hotline.config import ConfigHolder
from hotline.ports import AgentEvents, LiveStore, Media, RecordSink
from hotline.settings import Settings
from outbound import trunk_dial_target
from recordings import record_on_answer

log = logging.getLogger(__name__)

Originate = Callable[..., Awaitable[None]]


class CallbackDialer:
    """Places callbacks and runs their FastAGI sessions. ``originate`` is the AMI client's
    (asynchronous: the outcome comes back as an OriginateResponse event)."""

    def __init__(self, settings: Settings, controller_id: str, clock: Callable[[], float], live: LiveStore,
                 config: ConfigHolder, agents: AgentEvents, media: Media, records: RecordSink,
                 originate: Originate) -> None:
        self._settings = settings
        self._controller_id = controller_id
        self._clock = clock
        self._live = live
        self._config = config
        self._agents = agents
        self._media = media
        self._records = records
        self._originate = originate
        self._legs: dict[str, tuple[str, str]] = {}  # agent leg's channel id -> (request, agent)

    @property
    def enabled(self) -> bool:
        """Callbacks need a carrier to call citizens through."""
        return bool(self._settings.outbound_trunk)

    async def place(self, call_id: str, agent_id: str) -> None:
        """Ring the agent for a callback request; the citizen is dialled once they answer."""
        call = await self._live.call(call_id)
        if call is None:
            await self._agents.released(agent_id)
            return
        policy = self._config.current.queues[call.queue]
        channel_id = f"{call_id}-cb{int(self._clock() * 1000) % 100000}"
        self._legs[channel_id] = (call_id, agent_id)
        await self._agents.ringing(agent_id, call_id)
        agi = self._settings.agi_url(f"{self._settings.agi_host}:{self._settings.agi_port}")
        try:
            await self._originate(
                f"PJSIP/{agent_id}", "hotline-callback", "s", timeout_ms=int(policy.ring_timeout * 1000),
                channel_id=channel_id, caller_id=f'"callback" <{call.caller}>',
                variables={"HOTLINE_CALLBACK_ID": call_id, "HOTLINE_CALLBACK_AGI": agi})
        except Exception as exc:
            log.error("callback %s: originate to agent %s failed: %s", call_id, agent_id, exc)
            self._legs.pop(channel_id, None)
            await self.missed(call_id, agent_id)

    def on_originate_result(self, event: OriginateResult) -> Awaitable[None] | None:
        """The agent's leg was answered or not; a leg not answered is the agent's miss.
        Returns the follow-up to run (the caller owns the task), or None."""
        leg = self._legs.pop(event.uniqueid, None)
        if leg is None or event.success:
            return None
        call_id, agent_id = leg
        log.info("callback %s: agent %s did not answer (%s)", call_id, agent_id, event.reason)
        return self.missed(call_id, agent_id)

    async def missed(self, call_id: str, agent_id: str) -> None:
        """The agent did not answer the callback leg: a miss, and the request waits again."""
        call = await self._live.call(call_id)
        await self._agents.missed(agent_id, self._config.current.queues[call.queue if call else "main"])
        await self._live.requeue(call_id, excluded_agent=agent_id)

    async def orphan_assignment(self, call_id: str, agent_id: str) -> None:
        """An assignment for a call with no session here: a callback to place, or a call
        whose caller left just before (free the agent)."""
        call = await self._live.call(call_id)
        if call is not None and call.callback:
            await self.place(call_id, agent_id)
            return
        await self._live.remove_call(call_id)
        await self._agents.released(agent_id)

    async def run_session(self, ch: AgiChannel) -> None:
        """Asterisk's FastAGI session on the agent's answered leg: dial the citizen."""
        original_id = ch.arg(1)
        call = await self._live.call(original_id)
        if call is None or not call.callback or not call.agent:
            log.warning("callback %s: no such callback request; hanging up", original_id)
            await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
            return
        policy = self._config.current.queues[call.queue]
        agent_id, now, attempt = call.agent, self._clock(), call.attempts + 1
        await self._agents.answered(agent_id)
        await self._live.remove_call(original_id)  # served from here on: never placed twice
        await self._live.forget_call(original_id)  # the inbound leg's saved state: the request is served
        record = CallRecord(call_id=ch.uniqueid, caller=call.caller, dnis="callback", arrived_at=now,
                            source="callback", queue=call.queue, language=call.language,
                            skills=",".join(sorted(call.skills)), queued_at=call.arrived_at,
                            agent_id=agent_id, attrs={"callback_of": original_id, "controller": self._controller_id,
                                                      "attempt": attempt, "attempts_allowed": policy.callback_attempts})
        events = [CallEvent(ch.uniqueid, now, "callback_dialled",
                            {"number": call.caller, "agent": agent_id, "attempt": attempt})]
        status, answered_ms = "CANCEL", ""
        verdict = self._config.current.citizen_numbers.check(call.caller)  # checked at the offer; again here, after a reload
        try:
            if not verdict.allowed:
                status = "REFUSED"
                log.warning("callback %s: number %r refused (%s): not dialled", original_id, call.caller, verdict.rule)
            else:
                record_it = record_on_answer(self._media.recording_path(ch.uniqueid))
                target = trunk_dial_target(verdict.number or "", "trunk-out")
                await ch.run("EXEC", "Dial", f"{target},{int(policy.callback_ring_timeout)},g{record_it}")
                status = (await ch.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data
                answered_ms = (await ch.run("GET VARIABLE", "ANSWEREDTIME_MS", allow_dead=True)).data
        except ChannelGone:
            pass  # the agent's leg is gone: DIALSTATUS stays CANCEL
        end = self._clock()
        talk = float(answered_ms) / 1000.0 if answered_ms.replace(".", "", 1).isdigit() else None
        if status == "ANSWER":
            record = record.but(outcome="answered", answered_at=end - (talk or 0.0), ended_at=end,
                                recording=self._media.recording_path(ch.uniqueid))
        else:
            # No answer, busy, unreachable, or the agent gave up while it rang (CANCEL): the
            # citizen was not reached, so the promise still stands while tries are left.
            retry_at = policy.callback_retry_at(attempt, end) if verdict.allowed else None
            outcome = "callback_retry" if retry_at is not None else "callback_failed"
            record = record.but(outcome=outcome, ended_at=end, attrs={**record.attrs, "dial_status": status})
            if retry_at is not None:
                await self._live.retry_callback(call, attempts=attempt, not_before=retry_at)
                events.append(CallEvent(ch.uniqueid, end, "callback_retry", {"at": retry_at, "attempt": attempt + 1}))
                log.info("callback %s: citizen did not answer (%s); try %d at +%.0f s", original_id, status,
                         attempt + 1, retry_at - end)
            else:
                log.info("callback %s: try %d failed (%s); no try left", original_id, attempt, status)
        events.append(CallEvent(ch.uniqueid, end, "ended", {"outcome": record.outcome, "dial_status": status}))
        await self._agents.call_ended(agent_id, policy, record.answered_at or end)
        await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
        await self._records.write(record, events)

