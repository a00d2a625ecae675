"""Calls whose controller died: finished by a survivor, from the state saved at every step.

Each session saves its call's state-machine value in the live state at every step
(``CallSession.step``). A controller that dies (``kill -9``, a crash, a lost host) leaves its
calls' values behind, owned by a controller that no longer sends heartbeats. The leader's
sweep hands them here:

- a call that was talking (``talking`` or ``survey``) goes on in Asterisk without its
  session; once its caller's channel is gone, its record is written from the saved value
  (outcome ``answered``, the agent who answered, when; ``ended_at`` is when the survivor saw
  the channel gone, at most one sweep late: ``attrs.recovered_by`` says it was recovered);
- a call that had not reached an agent went to the dialplan's fallback queue when its AGI
  socket closed, and is stored from queue_log like every fallback call: its value is dropped;
- a callback request keeps its place in line (the sweep adopts it): its value stays.

The dialplan never sends a citizen an agent already answered to the fallback (``DIALSTATUS``
guard), so no call is stored twice. The agent of a recovered call is freed by the sweep when
their phone's channel ends (``RouterService``).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

import calls
from calls import CallState
from calls.records import CallEvent, CallRecord
from hotline.ports import LiveStore, RecordSink

log = logging.getLogger(__name__)
TALKED = (CallState.TALKING, CallState.SURVEY)
WAITING_FOR_A_CALLBACK = (CallState.CALLBACK_WAITING, CallState.CALLBACK_OFFERED, CallState.CALLBACK_DIALLING)


def recovered_record(call: calls.Call, owner: str, survivor: str, ended_at: float) -> CallRecord:
    """The record of a call whose session died while it talked, from its saved value."""
    return CallRecord(
        call_id=call.call_id, caller=call.caller, dnis=call.dnis, arrived_at=call.arrived_at,
        source=call.source.value, queue=call.queue, language=call.language, skills=",".join(sorted(call.skills)),
        priority=call.priority, queued_at=call.queued_at, answered_at=call.answered_at, ended_at=ended_at,
        agent_id=call.answered_by or "", outcome=calls.Outcome.ANSWERED.value,
        attrs={"controller": owner, "recovered_by": survivor, "state_at_loss": call.state.value})


class OrphanCalls:
    def __init__(self, controller_id: str, live: LiveStore, records: RecordSink,
                 channel_ids: Callable[[], Awaitable[set[str]]]) -> None:
        self._me = controller_id
        self._live = live
        self._records = records
        self._channel_ids = channel_ids

    async def sweep(self, now: float) -> int:
        """Finish the calls of dead controllers whose channel has ended; return how many."""
        held = await self._live.held_calls()
        alive = await self._live.alive({owner for owner, _ in held} | {self._me})
        orphans = [(owner, state) for owner, state in held if owner not in alive]
        if not orphans:
            return 0
        try:
            up = await self._channel_ids()
        except Exception as exc:
            log.debug("orphan calls wait: Asterisk's channels unknown (%s)", exc)
            return 0
        finished = 0
        for owner, state in orphans:
            finished += await self._finish(owner, state, up, now)
        return finished

    async def _finish(self, owner: str, state: dict[str, str], up: set[str], now: float) -> int:
        try:
            call = calls.from_dict(state)
        except (ValueError, KeyError) as exc:
            log.error("saved state of a call of dead controller %s unreadable (%s): dropped", owner, exc)
            await self._live.forget_call(state.get("call_id", ""))
            return 0
        if call.state in WAITING_FOR_A_CALLBACK or call.call_id in up:
            return 0  # still in line for a callback, or the caller is still on the line
        if call.state in TALKED:
            record = recovered_record(call, owner, self._me, now)
            await self._records.write(record, [CallEvent(call.call_id, now, "recovered",
                                                         {"controller": owner, "by": self._me})])
            log.warning("call %s of dead controller %s: talked with agent %s; record written from its saved "
                        "state", call.call_id, owner, call.answered_by)
        await self._live.forget_call(call.call_id)
        return 1
