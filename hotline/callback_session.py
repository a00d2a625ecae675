"""A callback: a citizen who accepted a callback while waiting is called back by an agent.

The request kept its place in line (hotline/live_state.py ``make_callback``); when the router
assigns it an agent, the controller originates the agent's leg (``Controller.place_callback``).
Once the agent answers, Asterisk opens this FastAGI session, which dials the citizen through
the outbound trunk and writes the callback's own record, linked to the original call.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.agi_server import AgiChannel, ChannelGone
from hotline.records import CallEvent, CallRecord

if TYPE_CHECKING:
    from hotline.controller import Services

log = logging.getLogger(__name__)
CITIZEN_RING_SECONDS = 40


async def run_callback(sv: "Services", ch: AgiChannel) -> None:
    original_id = ch.arg(1)
    call = await sv.live.call(original_id)
    if call is None or not call.callback or not call.agent:
        log.warning("callback %s: no such callback request; hanging up", original_id)
        await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
        return
    agent_id, now = call.agent, sv.clock()
    await sv.desk.answered(agent_id)
    await sv.live.remove_call(original_id)  # served from here on: never placed twice
    record = CallRecord(call_id=ch.uniqueid, caller=call.caller, dnis="callback", arrived_at=now,
                        source="callback", queue=call.queue, language=call.language,
                        skills=",".join(sorted(call.skills)), queued_at=call.arrived_at,
                        agent_id=agent_id, attrs={"callback_of": original_id, "controller": sv.controller_id})
    events = [CallEvent(ch.uniqueid, now, "callback_dialled", {"number": call.caller, "agent": agent_id})]
    status = "CANCEL"
    try:
        await ch.run("EXEC", "Dial", f"PJSIP/{call.caller}@trunk-out,{CITIZEN_RING_SECONDS},g")
        status = (await ch.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data
        answered_ms = (await ch.run("GET VARIABLE", "ANSWEREDTIME_MS", allow_dead=True)).data
    except ChannelGone:
        answered_ms = ""
    end = sv.clock()
    talk = float(answered_ms) / 1000.0 if answered_ms.replace(".", "", 1).isdigit() else None
    if status == "ANSWER" and talk is not None:
        record = record.but(outcome="answered", answered_at=end - talk, ended_at=end)
    else:
        record = record.but(outcome="callback_failed", ended_at=end, attrs={**record.attrs, "dial_status": status})
    events.append(CallEvent(ch.uniqueid, end, "ended", {"outcome": record.outcome, "dial_status": status}))
    await sv.desk.call_ended(agent_id, sv.queues[call.queue], record.answered_at or end)
    await ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
    await sv.writer.write(record, events)
