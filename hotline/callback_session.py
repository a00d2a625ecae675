"""A callback: a citizen who accepted a callback while waiting is called back by an agent.

The request kept its place in line (hotline/live_state.py ``make_callback``); when the router
assigns it an agent, the controller originates the agent's leg (``Controller.place_callback``).
Once the agent answers, Asterisk opens this FastAGI session, which dials the citizen through
the outbound trunk and writes the record of this attempt, linked to the original call.

A citizen who does not answer (or is busy, or unreachable) is tried again: the request goes
back in line at its old place, not before the queue's ``callback_retry_after``, up to
``callback_attempts`` tries in all. A promise to call back is not dropped after one ring.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.agi_server import AgiChannel, ChannelGone
from hotline.records import CallEvent, CallRecord
from outbound import trunk_dial_target
from recordings import record_on_answer

if TYPE_CHECKING:
    from hotline.controller import Services

log = logging.getLogger(__name__)


async def run_callback(sv: "Services", ch: AgiChannel) -> None:
    original_id = ch.arg(1)
    call = await sv.live.call(original_id)
    if call is None or not call.callback or not call.agent:
        log.warning("callback %s: no such callback request; hanging up", original_id)
        await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
        return
    policy = sv.queues[call.queue]
    agent_id, now, attempt = call.agent, sv.clock(), call.attempts + 1
    await sv.desk.answered(agent_id)
    await sv.live.remove_call(original_id)  # served from here on: never placed twice
    record = CallRecord(call_id=ch.uniqueid, caller=call.caller, dnis="callback", arrived_at=now,
                        source="callback", queue=call.queue, language=call.language,
                        skills=",".join(sorted(call.skills)), queued_at=call.arrived_at,
                        agent_id=agent_id, attrs={"callback_of": original_id, "controller": sv.controller_id,
                                                  "attempt": attempt, "attempts_allowed": policy.callback_attempts})
    events = [CallEvent(ch.uniqueid, now, "callback_dialled",
                        {"number": call.caller, "agent": agent_id, "attempt": attempt})]
    status, answered_ms = "CANCEL", ""
    verdict = sv.citizen_numbers.check(call.caller)  # checked at the offer; again here, after a reload
    try:
        if not verdict.allowed:
            status = "REFUSED"
            log.warning("callback %s: number %r refused (%s): not dialled", original_id, call.caller, verdict.rule)
        else:
            record_it = record_on_answer(sv.recording_path(ch.uniqueid))
            target = trunk_dial_target(verdict.number or "", "trunk-out")
            await ch.run("EXEC", "Dial", f"{target},{int(policy.callback_ring_timeout)},g{record_it}")
            status = (await ch.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data
            answered_ms = (await ch.run("GET VARIABLE", "ANSWEREDTIME_MS", allow_dead=True)).data
    except ChannelGone:
        pass  # the agent's leg is gone: DIALSTATUS stays CANCEL
    end = sv.clock()
    talk = float(answered_ms) / 1000.0 if answered_ms.replace(".", "", 1).isdigit() else None
    if status == "ANSWER":
        record = record.but(outcome="answered", answered_at=end - (talk or 0.0), ended_at=end,
                            recording=sv.recording_path(ch.uniqueid))
    else:
        # No answer, busy, unreachable, or the agent gave up while it rang (CANCEL): the
        # citizen was not reached, so the promise still stands while tries are left.
        retry_at = policy.callback_retry_at(attempt, end) if verdict.allowed else None
        outcome = "callback_retry" if retry_at is not None else "callback_failed"
        record = record.but(outcome=outcome, ended_at=end, attrs={**record.attrs, "dial_status": status})
        if retry_at is not None:
            await sv.live.retry_callback(call, attempts=attempt, not_before=retry_at)
            events.append(CallEvent(ch.uniqueid, end, "callback_retry", {"at": retry_at, "attempt": attempt + 1}))
            log.info("callback %s: citizen did not answer (%s); try %d at +%.0f s", original_id, status,
                     attempt + 1, retry_at - end)
        else:
            log.info("callback %s: try %d failed (%s); no try left", original_id, attempt, status)
    events.append(CallEvent(ch.uniqueid, end, "ended", {"outcome": record.outcome, "dial_status": status}))
    await sv.desk.call_ended(agent_id, policy, record.answered_at or end)
    await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
    await sv.writer.write(record, events)

