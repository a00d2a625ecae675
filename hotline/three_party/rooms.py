"""Three-party calls (三方连线) carried out in Asterisk: the shell around ``calls/legs.py``.

The legs' rules are pure (``calls/legs.py``); this module feeds them what the call taker asks
(the HTTP API's ``CallDesk``) and what Asterisk reports (AMI), and carries out the effects:

- the citizen and the call taker talk through the session's ``Dial`` (FastAGI). The first
  operation moves both out of it with ONE AMI ``Redirect`` with ``ExtraChannel`` (two would
  break the bridge under the second), the citizen to music (``hotline-3way,hold``) or into
  the call's ConfBridge room, the call taker into the room. The session sees its Dial end,
  hands its record here (``take_over``) and closes its FastAGI socket at once, so Asterisk
  runs the redirect (next-features-facts A7);
- an agency leg is an async ``Originate`` of ``Local/<number>@hotline-agency/n`` (the only
  context that dials an agency, and it knows only the directory's numbers) into the room,
  with our own ChannelId, so ``OriginateResponse`` and ``Hangup`` name the leg;
- "leave" and a blind transfer hang up the call taker's channel; the room (profiles in
  confbridge.conf: nobody ``marked``) goes on with citizen and agency;
- the call's record (the session's, with every agency leg as an event and the handling in its
  attrs) is written once, when the legs' value ends.

One controller holds a call's legs (the one whose session held the call); the API of another
controller answers 409 ``not_here`` for it.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from calls import leg_records, legs
from calls.records import CallEvent, CallRecord
from hotline.asterisk.ami_events import ConfbridgeJoined, Hangup, OriginateResult
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
CONTEXT = "hotline-3way"
# OriginateResponse Reason (main/manager.c, ast_pbx_outgoing_*): 3 ringing timed out, 5 busy,
# 8 congestion (the far end unreachable); anything else (0, 1: hung up before an answer).
ORIGINATE_REASONS = {"3": legs.FailReason.NO_ANSWER, "5": legs.FailReason.BUSY, "8": legs.FailReason.UNREACHABLE}


class NotHere(Exception):
    """The call is not held by this controller (or is gone)."""


@dataclass
class Room:
    """One call's legs while a three-party operation is under way or has happened."""

    call_id: str
    agent_id: str
    citizen: str            # the citizen's channel name
    agent: str              # the call taker's channel name
    answered_at: float
    policy: Any
    value: legs.ThreeWay
    agency_id: str = ""
    numbers: tuple[str, ...] = ()
    citizen_place: str = "dial"   # dial | hold | room | gone
    agent_place: str = "dial"     # dial | room | gone
    leg_ids: dict[int, str] = field(default_factory=dict)   # leg index -> our ChannelId
    recall_id: str = ""
    record: CallRecord | None = None
    events: list[CallEvent] = field(default_factory=list)
    written: bool = False
    opened: bool = False  # a channel was sent into the room: its recording exists

    @property
    def name(self) -> str:
        return f"hl3-{self.call_id}"

    def room_recording(self) -> str:
        """The room's own recording, once a channel went into the room."""
        main = self.record.recording if self.record is not None else ""
        return leg_records.conference_recording(main) if self.opened else ""


class ThreeParty:
    """Every room this controller holds; the AMI handlers and the desk's operations."""

    def __init__(self, clock: Callable[[], float], tasks: TaskOwner, ami: Any,
                 call_ended: Callable[[str, Any, float], Awaitable[Any]],
                 write: Callable[[CallRecord, list[CallEvent]], Awaitable[Any]],
                 notify: Callable[[str, dict[str, Any]], None],
                 agency_ring_seconds: int = 30,
                 save: Callable[[str, str, str], Awaitable[Any]] | None = None) -> None:
        self._clock = clock
        # The room's value saved beside the call's at every step (LiveStore.save_call_part),
        # so a survivor finishing the call of a dead controller stores its legs too.
        self._save = save
        self._tasks = tasks
        self._ami = ami
        self._call_ended = call_ended  # the agent's call is over for them: wrap-up
        self._write = write
        self._notify = notify          # an event for the agent's desk (the API's event stream)
        self._ring = agency_ring_seconds
        self.rooms: dict[str, Room] = {}
        self._by_channel: dict[str, tuple[str, str]] = {}  # uniqueid/ChannelId -> (call id, party)
        self._lock = asyncio.Lock()
        self.handlers = {Hangup: self._on_hangup, OriginateResult: self._on_originate,
                         ConfbridgeJoined: self._on_joined}
        # The call taker's request -> the Asterisk event that shows it done (join: the citizen
        # enters the room; leave: the call taker's channel hangs up; a blind transfer: the
        # call taker's channel hangs up), per call: (operation, request time). Logged as
        # "done in", the figures the latency test reads.
        self._pending: dict[str, tuple[str, float]] = {}
        self.latencies: list[tuple[str, float]] = []

    # -- what the session tells -----------------------------------------------------------
    def room_for(self, call_id: str, agent_id: str, citizen: str, agent: str, answered_at: float,
                 policy: Any) -> Room:
        room = self.rooms.get(call_id)
        if room is None:
            room = self.rooms[call_id] = Room(call_id, agent_id, citizen, agent, answered_at, policy,
                                              legs.start(call_id, answered_at))
            self._by_channel[call_id] = (call_id, "citizen")
            self._by_channel[agent] = (call_id, "agent")  # the agent's leg, by its channel name
        return room

    def holds(self, call_id: str) -> bool:
        """Whether the call's legs have left its session's Dial (the session must hand over)."""
        room = self.rooms.get(call_id)
        return room is not None and room.citizen_place != "dial"

    async def take_over(self, call_id: str, record: CallRecord, events: list[CallEvent]) -> None:
        """The session's Dial ended because of a three-party operation: its record is ours now."""
        room = self.rooms.get(call_id)
        if room is None:
            return
        room.record, room.events = record, [*events, *room.events]
        await self._write_if_over(room)

    # -- the desk's operations ----------------------------------------------------------------
    async def operate(self, call_id: str, agent_id: str, event: legs.LegEvent,
                      agency_id: str = "", numbers: tuple[str, ...] = ()) -> legs.ThreeWay:
        room = self.rooms.get(call_id)
        if room is None or room.agent_id != agent_id:
            raise NotHere(call_id)
        operation = {legs.Join: "join", legs.Leave: "leave", legs.BlindTransfer: "blind_transfer",
                     legs.CompleteTransfer: "complete_transfer", legs.CancelConsult: "cancel"}.get(type(event))
        if operation:
            self._pending[call_id] = (operation, self._clock())
        try:
            await self._step(room, event, agency=(agency_id, numbers) if agency_id else None)
        except Exception:
            if room.citizen_place == "dial" and room.value.state is legs.ThreeWayState.TWO_PARTY:
                self._drop(room)  # refused before anything moved: the session keeps its call
            raise
        return room.value

    def _drop(self, room: Room) -> None:
        self.rooms.pop(room.call_id, None)
        for key in [k for k, (c, _) in self._by_channel.items() if c == room.call_id]:
            self._by_channel.pop(key, None)

    # -- AMI ------------------------------------------------------------------------------------
    def _room_of(self, *keys: str) -> tuple[Room, str] | None:
        """The room and the party a channel (by uniqueid, ChannelId or name) belongs to."""
        found = next((self._by_channel[k] for k in keys if k in self._by_channel), None)
        room = self.rooms.get(found[0]) if found else None
        return (room, found[1]) if room is not None and found else None

    def _on_hangup(self, event: Hangup) -> None:
        found = self._room_of(event.uniqueid, event.channel)
        if found is None:
            return
        room, party = found
        call_id = room.call_id
        now = self._clock()
        if party == "citizen":
            room.citizen_place = "gone"
            self._spawn(room, legs.CitizenHungUp(now))
        elif party == "agent":
            self._done(call_id, ("leave", "blind_transfer", "complete_transfer"), "the call taker's Hangup")
            if room.agent_place != "gone":
                room.agent_place = "gone"
                self._spawn(room, legs.AgentHungUp(now))
        elif party.startswith("leg"):
            leg = int(party[3:])
            self._spawn(room, legs.AgencyHungUp(now, leg=leg))

    def _done(self, call_id: str, operations: tuple[str, ...], what: str) -> None:
        pending = self._pending.get(call_id)
        if pending is None or pending[0] not in operations:
            return
        del self._pending[call_id]
        took = self._clock() - pending[1]
        self.latencies.append((pending[0], took))
        log.info("call %s: %s done in %.1f ms (request to %s)", call_id, pending[0], took * 1000, what)

    def _on_joined(self, event: ConfbridgeJoined) -> None:
        found = self._room_of(event.uniqueid)
        if found is not None and found[1] == "citizen":
            self._done(found[0].call_id, ("join", "cancel", "complete_transfer"), "the citizen's ConfbridgeJoin")

    def _on_originate(self, event: OriginateResult) -> None:
        found = self._room_of(event.uniqueid)
        if found is None:
            return  # a callback's leg, or a room already written
        room, party = found
        call_id = room.call_id
        now = self._clock()
        if party.startswith("leg"):
            leg = int(party[3:])
            if event.success:
                self._spawn(room, legs.AgencyAnswered(now, leg=leg))
            else:
                reason = ORIGINATE_REASONS.get(event.reason, legs.FailReason.NO_ANSWER)
                self._spawn(room, legs.AgencyFailed(reason, now, self._next_number(room), leg=leg))
        elif party == "recall":
            if event.success:
                room.agent, room.agent_place = event.uniqueid, "room"
                self._by_channel[event.uniqueid] = (call_id, "agent")
                self._spawn(room, legs.AgentBack(now))
            else:
                self._spawn(room, legs.AgentUnreachable(now))

    def _next_number(self, room: Room) -> str | None:
        """The agency's next number not yet tried for the current request (its legs back to
        the one dialled first, attempt 1)."""
        tried: set[str] = set()
        for earlier in reversed(room.value.legs):
            tried.add(earlier.number)
            if earlier.attempt == 1:
                break
        return next((n for n in room.numbers if n not in tried), None)

    def _spawn(self, room: Room, event: legs.LegEvent) -> None:
        self._tasks.spawn(self._step(room, event), f"3way-{room.call_id}")

    # -- the machine and its effects ------------------------------------------------------------
    async def _step(self, room: Room, event: legs.LegEvent,
                    agency: tuple[str, tuple[str, ...]] | None = None) -> None:
        async with self._lock:  # one step at a time: effects are carried out in the table's order
            try:
                value, effects = legs.step(room.value, event)
                if agency is not None:  # only once the table took the request
                    room.agency_id, room.numbers = agency
            except legs.IllegalTransition:
                if type(event) in legs.DESK_EVENTS:
                    raise
                log.warning("call %s: %s ignored in %s", room.call_id, type(event).__name__, room.value.state)
                return
            room.value = value
            log.info("call %s: three-party %s -> %s (%s)", room.call_id, type(event).__name__, value.state.value,
                     ", ".join(e.effect.value for e in effects) or "no effect")
            room.events.append(CallEvent(room.call_id, event.at, "three_party",
                                         {"event": type(event).__name__, "state": value.state.value}))
            self._notify(room.agent_id, {"kind": "three_party", "call_id": room.call_id,
                                         "state": value.state.value, "event": type(event).__name__})
            for effect in effects:
                try:
                    await self._carry_out(room, effect)
                except Exception as exc:  # a channel already gone: the next event tells
                    log.warning("call %s: %s failed (%s)", room.call_id, effect.effect.value, exc)
        await self._save_value(room)
        await self._write_if_over(room)

    async def _save_value(self, room: Room) -> None:
        if self._save is None or room.value.state is legs.ThreeWayState.ENDED:
            return
        try:
            await self._save(room.call_id, leg_records.SAVED_PART, leg_records.encode_saved(room.value, room.opened))
        except Exception as exc:  # Redis away: the live room goes on; only a crash would miss it
            log.warning("call %s: three-party state not saved (%s)", room.call_id, exc)

    async def _carry_out(self, room: Room, effect: legs.EffectCall) -> None:
        E = legs.Effect
        kind = effect.effect
        if kind is E.HOLD_CITIZEN:
            await self._move(room, citizen_to="hold")
        elif kind in (E.UNHOLD_CITIZEN_TO_AGENT, E.CITIZEN_INTO_ROOM):
            await self._move(room, citizen_to="room")
        elif kind is E.DIAL_AGENCY:
            if room.citizen_place == "dial":  # a conference straight away: both into the room first
                await self._move(room, citizen_to="room")
            await self._dial_agency(room, effect.number, effect.leg or 0)
        elif kind is E.HANGUP_AGENCY:
            leg_id = room.leg_ids.get(effect.leg if effect.leg is not None else -1)
            if leg_id:
                await self._ami.hangup(leg_id)
        elif kind is E.KICK_AGENT:
            if room.agent_place == "dial":  # still bridged with the citizen: move the citizen first
                await self._move(room, citizen_to="hold")
            room.agent_place = "gone"
            await self._ami.hangup(room.agent)
        elif kind is E.RING_AGENT_BACK:
            room.recall_id = f"{room.call_id}.back"
            self._by_channel[room.recall_id] = (room.call_id, "recall")
            await self._ami.originate(f"PJSIP/{room.agent_id}", CONTEXT, "taker", {"HL_ROOM": room.name},
                                      timeout_ms=self._ring * 1000, channel_id=room.recall_id)
        elif kind is E.STOP_RINGING_AGENT:
            if room.recall_id:
                await self._ami.hangup(room.recall_id)
        elif kind is E.REQUEUE_CITIZEN:  # back in line at its place (sessions/take_back.py's path)
            await self._ami.redirect(room.citizen, "hotline-resume")
        elif kind is E.HANGUP_CITIZEN:
            if room.citizen_place != "gone":
                await self._ami.hangup(room.citizen)
        elif kind is E.AGENT_TO_WRAP_UP:
            await self._call_ended(room.agent_id, room.policy, room.answered_at)
        elif kind is E.NOTIFY_AGENT:
            self._notify(room.agent_id, {"kind": "three_party_notice", "call_id": room.call_id,
                                         "reason": effect.reason, "next_number": effect.number})
        elif kind is E.END_ROOM:
            pass  # nothing to hang up: every channel that goes has its own effect

    async def _move(self, room: Room, citizen_to: str) -> None:
        """Citizen to music or into the room; while the two are still bridged by the session's
        Dial, the call taker goes into the room in the same Redirect."""
        target = "hold" if citizen_to == "hold" else "citizen"
        if room.citizen_place == citizen_to or room.citizen_place == "gone":
            return
        await self._ami.setvar(room.citizen, "HL_ROOM", room.name)
        fields = {"Action": "Redirect", "Channel": room.citizen, "Context": CONTEXT, "Exten": target,
                  "Priority": "1"}
        if room.citizen_place == "dial":
            await self._ami.setvar(room.agent, "HL_ROOM", room.name)
            fields.update({"ExtraChannel": room.agent, "ExtraContext": CONTEXT, "ExtraExten": "taker",
                           "ExtraPriority": "1"})
        reply = await self._ami.action(fields)
        if str(reply.get("Response", "")).lower() == "error":
            raise RuntimeError(f"Redirect refused: {reply.get('Message', '')}")
        room.opened = True
        if room.citizen_place == "dial":
            room.agent_place = "room"
        room.citizen_place = citizen_to

    async def _dial_agency(self, room: Room, number: str, leg: int) -> None:
        leg_id = f"{room.call_id}.ag{leg}"
        room.leg_ids[leg] = leg_id
        self._by_channel[leg_id] = (room.call_id, f"leg{leg}")
        await self._ami.originate(f"Local/{number}@hotline-agency/n", CONTEXT, "agency",
                                  {"HL_ROOM": room.name, "HOTLINE_AGENCY_RING": str(self._ring)},
                                  timeout_ms=(self._ring + 5) * 1000, channel_id=leg_id)

    async def _write_if_over(self, room: Room) -> None:
        if room.written or room.record is None or room.value.state is not legs.ThreeWayState.ENDED:
            return
        room.written = True
        value = room.value
        end = room.value.citizen_left_at or value.ended_at or self._clock()
        room.events.extend(leg_records.leg_events(room.call_id, value))
        record = room.record.but(ended_at=end, attrs={
            **room.record.attrs, **leg_records.record_attrs(value),
            "conference_recording": room.room_recording()})
        try:
            await self._write(record, room.events)
        finally:
            self._drop(room)

    def view(self, call_id: str) -> dict[str, Any] | None:
        room = self.rooms.get(call_id)
        if room is None:
            return None
        live = legs.live_leg(room.value)
        return {"state": room.value.state.value, "agency_id": room.agency_id,
                "number": live.number if live else "", "since": room.value.since,
                "allowed": sorted(t.__name__ for t in legs.allowed(room.value))}
