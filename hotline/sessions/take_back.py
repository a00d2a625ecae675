"""Callers waiting in the fallback queue are taken back by a live controller, in their order.

When no controller can hold a call (the one holding it died, or none answered FastAGI), the
dialplan puts the citizen into the ``hotline-fallback`` app_queue. Once a controller leads
again, app_queue and the controller would compete for every agent freed, and the controller,
offering at once, wins: citizens who called later would be served before those waiting in
app_queue, who then give up. So the leader's sweep takes back every caller waiting there (not
yet bridged to a member): an AMI Redirect to ``hotline-resume``, whose dialplan writes a
``RESUMED`` line in queue_log (the reconciler then does not store it as a fallback call) and
asks a controller for a ``resume`` session. That session continues the call from its saved
value (sessions/call.py ``resumed``): its arrival, and its place in line (``queued_at``);
a call without one (its controller never saved it) joins its line's fallback queue with its
arrival as its place. The oldest caller is taken back first, each once per controller: a
session that fails again leaves the citizen with app_queue rather than in a loop.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping

import calls
import ivr

log = logging.getLogger(__name__)


def order_of(call_id: str) -> tuple[float, int]:
    """When Asterisk created the channel, from its uniqueid (``[system-]epoch.sequence``):
    the epoch second, then the sequence number within it."""
    epoch, _, sequence = call_id.rsplit("-", 1)[-1].partition(".")
    try:
        return float(epoch), int(sequence or 0)
    except ValueError:
        return float("inf"), 0


def unsaved_call(call_id: str, caller: str, dnis: str, flows: Mapping[str, Any]) -> calls.Call:
    """The value of a call taken back that its controller never saved (it failed before its
    first step): in line on its flow's fallback queue, its arrival as its place."""
    arrived = order_of(call_id)[0]
    flow = ivr.flow_for_dnis(flows, dnis)
    call = calls.start(calls.Arrived(arrived, call_id, caller, dnis))
    return calls.apply(call, calls.Queued(arrived, flow.fallback_queue, flow.language))


class FallbackTakeBack:
    def __init__(self, in_fallback: Callable[[], Awaitable[dict[str, str]]],
                 redirect: Callable[[str], Awaitable[None]]) -> None:
        self._in_fallback = in_fallback  # callers waiting in the fallback queue: call id -> channel
        self._redirect = redirect        # send one channel to hotline-resume
        self._taken: set[str] = set()

    async def sweep(self) -> int:
        """Take back every caller waiting in the fallback queue; return how many."""
        try:
            waiting = await self._in_fallback()
        except Exception as exc:
            log.debug("fallback callers unknown (%s)", exc)
            return 0
        taken = 0
        for call_id in sorted(waiting, key=order_of):
            if call_id in self._taken:
                continue
            self._taken.add(call_id)
            try:
                await self._redirect(waiting[call_id])
                taken += 1
            except Exception as exc:
                log.warning("call %s: not taken back from the fallback queue (%s)", call_id, exc)
        if taken:
            log.warning("%d caller(s) taken back from the fallback queue, oldest first", taken)
        if len(self._taken) > 10_000:  # ids of calls long gone
            self._taken = {c for c in self._taken if c in waiting}
        return taken
