"""Calls whose controller died: finished by a survivor, from the state saved at every step.

Each session saves its call's state-machine value in the live state at every step
(``CallSession.step``). A controller that dies (``kill -9``, a crash, a lost host) leaves its
calls' values behind, owned by a controller that no longer sends heartbeats. The leader's
sweep hands them here:

- a call that was talking (``talking`` or ``survey``) goes on in Asterisk without its
  session; once its caller's channel is gone, its record is written from the saved value
  (outcome ``answered``, the agent who answered, when; ``ended_at`` is the end the dialplan's
  ``SERVED`` line gives, or when the survivor saw the channel gone, at most one sweep late:
  ``attrs.recovered_by`` says it was recovered);
- a call whose agent's phone was ringing (``offered``) went on ringing in Asterisk: if the
  agent answered, the dialplan wrote a ``SERVED`` line into queue_log when the talk ended
  (calls/queue_log.py), and the record is written from it (agent, answer and end times);
  otherwise the citizen went to the fallback queue, stored from queue_log like below;
- a call that had not reached an agent went to the dialplan's fallback queue when its AGI
  socket closed. While it waits there it is taken back by a live controller with its saved
  value (sessions/take_back.py), which keeps its place in line; once its channel is gone
  (answered or abandoned in the fallback queue), it is stored from queue_log like every
  fallback call: its value is dropped;
- a callback request keeps its place in line (the sweep adopts it): its value stays.

The dialplan never sends a citizen an agent already answered to the fallback (``DIALSTATUS``
guard), so no call is stored twice. The agent of a recovered call is freed by the sweep when
their phone's channel ends (``RouterService``).
"""
from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

import calls
from calls import CallState, leg_records
from calls.queue_log import Served
from calls.records import CallEvent, CallRecord
from hotline.asterisk.channels import agent_of
from hotline.ports import LiveStore, RecordSink

log = logging.getLogger(__name__)
TALKED = (CallState.TALKING, CallState.SURVEY)
WAITING_FOR_A_CALLBACK = (CallState.CALLBACK_WAITING, CallState.CALLBACK_OFFERED, CallState.CALLBACK_DIALLING)


def recovered_record(call: calls.Call, owner: str, survivor: str, ended_at: float,
                     served: Served | None = None) -> CallRecord:
    """The record of a call whose session died while it talked or rang, from its saved value
    and, when the dialplan wrote one, its ``SERVED`` line (the exact answer and end)."""
    agent = (agent_of(served.agent_channel) if served and served.agent_channel else "") \
        or call.answered_by or call.agent_id or ""
    return CallRecord(
        call_id=call.call_id, caller=call.caller, dnis=call.dnis, arrived_at=call.arrived_at,
        source=call.source.value, queue=call.queue, language=call.language, skills=",".join(sorted(call.skills)),
        priority=call.priority, queued_at=call.queued_at,
        # a Dial ended by a three-party Redirect leaves ANSWEREDTIME empty (talk 0): the saved
        # answer is then the one to keep
        answered_at=served.answered_at if served and (served.talk_seconds > 0 or call.answered_at is None)
        else call.answered_at,
        ended_at=served.ended_at if served else ended_at,
        agent_id=agent, outcome=calls.Outcome.ANSWERED.value,
        attrs={"controller": owner, "recovered_by": survivor, "state_at_loss": call.state.value})


def _with_screen(record: CallRecord, saved: str | None) -> CallRecord:
    """The IVR path and repeat-call count the session saved with the call (its screen pop)."""
    if not saved:
        return record
    try:
        screen = json.loads(saved)
        path = tuple(step for step in screen.get("ivr_path") or () if isinstance(step, dict))
        return record.but(ivr_path=path, repeat_calls=int(screen.get("repeat_calls") or 0))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("call %s: saved screen unreadable (%s): stored without its IVR path", record.call_id, exc)
        return record


def _with_legs(record: CallRecord, events: list[CallEvent],
               saved: str | None) -> tuple[CallRecord, list[CallEvent]]:
    """The record with its three-party legs, when the room's value was saved beside the call's."""
    if not saved:
        return record, events
    try:
        value, opened = leg_records.decode_saved(saved)
    except ValueError as exc:
        log.error("call %s: saved three-party state unreadable (%s): stored without its legs", record.call_id, exc)
        return record, events
    attrs = {**record.attrs, **leg_records.record_attrs(value),
             "conference_recording": leg_records.conference_recording(record.recording) if opened else ""}
    return record.but(attrs=attrs), [*events, *leg_records.leg_events(record.call_id, value)]


class OrphanCalls:
    def __init__(self, controller_id: str, live: LiveStore, records: RecordSink,
                 channel_ids: Callable[[], Awaitable[set[str]]],
                 served: Callable[[], Awaitable[dict[str, Served]]] | None = None,
                 recording: Callable[[str], str] | None = None) -> None:
        self._recording = recording  # the call's recording file (MixMonitor wrote it as it talked)
        self._me = controller_id
        self._live = live
        self._records = records
        self._channel_ids = channel_ids
        self._served = served  # the dialplan's SERVED lines (queue_log), read once per sweep

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
        done: dict[str, Served] = {}
        if self._served is not None and any(s.get("call_id") not in up for _, s in orphans):
            try:
                done = await self._served()
            except Exception as exc:  # unreadable now: the talking calls are still written below
                log.warning("orphan calls: the dialplan's SERVED lines unreadable (%s)", exc)
        finished = 0
        for owner, state in orphans:
            finished += await self._finish(owner, state, up, now, done)
        return finished

    async def _finish(self, owner: str, state: dict[str, str], up: set[str], now: float,
                      done: dict[str, Served]) -> int:
        try:
            call = calls.from_dict(state)
        except (ValueError, KeyError) as exc:
            log.error("saved state of a call of dead controller %s unreadable (%s): dropped", owner, exc)
            await self._live.forget_call(state.get("call_id", ""))
            return 0
        if call.state in WAITING_FOR_A_CALLBACK or call.call_id in up:
            return 0  # still in line for a callback, or the caller is still on the line
        served = done.get(call.call_id)
        if call.state in TALKED or (call.state is CallState.OFFERED and served is not None):
            record = recovered_record(call, owner, self._me, now, served)
            if self._recording is not None:
                record = record.but(recording=self._recording(call.call_id))
            events = [CallEvent(call.call_id, record.ended_at or now, "recovered",
                                {"controller": owner, "by": self._me, "state_at_loss": call.state.value})]
            record, events = _with_legs(record, events, state.get(leg_records.SAVED_PART))
            record = _with_screen(record, state.get("screen"))
            await self._records.write(record, events)
            log.warning("call %s of dead controller %s: talked with agent %s (%s at the loss); record written "
                        "from its saved state%s", call.call_id, owner, record.agent_id, call.state.value,
                        " and the dialplan's SERVED line" if served else "")
        await self._live.forget_call(call.call_id)
        return 1
