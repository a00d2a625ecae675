"""The calls this controller holds, and the facts that reach them from outside the session.

A session waits on its AGI socket; what it waits for arrives elsewhere: an AMI event (the
agent's leg began to ring, was answered, the caller hung up) or an assignment from the
router (in-process or over Redis pub/sub). The registry is the one place that maps those
to the session's ``CallTrack`` mailbox, and the one place that knows which agent leg this
controller is ringing, so a ring can be withdrawn (the agent paused, or a fast offer's claim
failed). AMI events are handled by a table, event type -> handler, like ``ami_events``
builds them.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from hotline.asterisk.ami_events import AmiEvent, DialBegin, DialEnd, Hangup, HangupRequested
from hotline.asterisk.channels import agent_of
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
WITHDRAW_WINDOW = 2.0  # a withdrawal waiting for its DialBegin is dropped after this


@dataclass
class CallTrack:
    """One call's mailbox: what AMI events and the router tell the waiting session."""

    call_id: str
    hangup: asyncio.Event = field(default_factory=asyncio.Event)
    assignment: "asyncio.Queue[tuple[str, int]]" = field(default_factory=asyncio.Queue)
    answered_at: float | None = None
    hung_up_at: float | None = None  # when the caller asked to hang up (HangupRequest): the exact end
    dialing: asyncio.Event = field(default_factory=asyncio.Event)  # the current offer's DialBegin came
    resync: asyncio.Event = field(default_factory=asyncio.Event)  # Redis came back: is the call still in line?
    on_answer: Callable[[], None] = lambda: None  # the session's hook: the agent answered (DialEnd ANSWER)
    agent_channel: str = ""  # the answered agent leg's channel name (three-party calls move it)
    citizen_channel: str = ""  # the caller's channel name
    talking: tuple[str, Any] | None = None  # (agent id, queue policy) while the call is talking


class CallRegistry:
    """The tracks of the calls held here and the agent legs being rung for them.

    ``hang_up`` ends a channel (AMI Hangup); ``agent_answered`` tells the agent service;
    ``orphan`` takes an assignment for a call with no session here (a callback request,
    or a call whose caller just left)."""

    def __init__(self, clock: Callable[[], float], tasks: TaskOwner,
                 hang_up: Callable[[str], Awaitable[Any]],
                 agent_answered: Callable[[str], Awaitable[Any]],
                 orphan: Callable[[str, str], Awaitable[Any]]) -> None:
        self._clock = clock
        self._tasks = tasks
        self._hang_up = hang_up
        self._agent_answered = agent_answered
        self._orphan = orphan
        self.tracks: dict[str, CallTrack] = {}
        self._ringing: dict[str, str] = {}  # agent id -> the agent leg our Dial is ringing
        self._withdraw_on_dial: dict[str, float] = {}  # agent id -> until when
        self.handlers: Mapping[type, Callable[[Any], None]] = {
            Hangup: self._on_hangup, HangupRequested: self._on_hangup, DialBegin: self._on_dial_begin, DialEnd: self._on_dial_end}

    # -- sessions ---------------------------------------------------------------------------
    def register(self, call_id: str) -> CallTrack:
        track = self.tracks[call_id] = CallTrack(call_id)
        return track

    def unregister(self, call_id: str) -> None:
        self.tracks.pop(call_id, None)

    def deliver(self, call_id: str, agent_id: str, relax_step: int) -> None:
        """Hand an assignment to the call's session (or to ``orphan`` when none is here)."""
        track = self.tracks.get(call_id)
        if track is None:
            self._tasks.spawn(self._orphan(call_id, agent_id), f"orphan-{call_id}")
        else:
            track.assignment.put_nowait((agent_id, relax_step))

    def resync(self) -> None:
        """Redis came back (maybe empty): every waiting session checks its call is still in
        line, and puts it back at its place if not."""
        for track in self.tracks.values():
            track.resync.set()

    def vanished(self, alive: set[str]) -> None:
        """After a resync: every held call whose channel Asterisk no longer has hung up."""
        for call_id, track in list(self.tracks.items()):
            if call_id not in alive:
                track.hangup.set()

    # -- rings ---------------------------------------------------------------------------------
    def withdraw(self, agent_id: str) -> None:
        """A fast offer could not be claimed: hang up the agent's leg now, or as soon as its
        DialBegin shows which channel it is."""
        if not self.stop_ring(agent_id, "the agent was not free after all"):
            self._withdraw_on_dial[agent_id] = self._clock() + WITHDRAW_WINDOW

    def stop_ring(self, agent_id: str, why: str) -> bool:
        """Hang up the leg ringing ``agent_id`` for one of our calls; False when none rings."""
        channel = self._ringing.get(agent_id)
        if not channel:
            return False
        log.info("agent %s %s: withdrawing the offer (%s)", agent_id, why, channel)
        self._tasks.spawn(self._hang_up(channel), f"stop-ring-{agent_id}")
        return True

    # -- AMI events ------------------------------------------------------------------------------
    def on_ami_event(self, event: AmiEvent) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _on_hangup(self, event: Hangup | HangupRequested) -> None:
        track = self.tracks.get(event.uniqueid)
        if track is not None:
            if track.hung_up_at is None:
                track.hung_up_at = self._clock()
            track.hangup.set()

    def _on_dial_begin(self, event: DialBegin) -> None:
        track = self.tracks.get(event.uniqueid)
        if track is None:
            return
        track.dialing.set()
        agent_id = agent_of(event.dest_channel)
        self._ringing[agent_id] = event.dest_channel
        if self._withdraw_on_dial.pop(agent_id, 0.0) > self._clock():
            self.stop_ring(agent_id, "the agent was not free after all")

    def _on_dial_end(self, event: DialEnd) -> None:
        agent_id = agent_of(event.dest_channel)
        self._ringing.pop(agent_id, None)
        self._withdraw_on_dial.pop(agent_id, None)
        track = self.tracks.get(event.uniqueid)
        if track is not None and event.status == "ANSWER":
            track.answered_at = self._clock()
            track.agent_channel = event.dest_channel
            track.on_answer()
            self._tasks.spawn(self._agent_answered(agent_id), f"answered-{agent_id}")
