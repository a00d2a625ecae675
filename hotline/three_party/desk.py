"""The HTTP API's ``CallDesk`` over this controller's calls and three-party rooms.

The agent's current call comes from the live state (the agent's record names its call; the
call's saved state gives caller, line and language); the operations go to ``ThreeParty``,
which holds the call's legs. Errors become the API's: a call that is not the agent's is
``NotYourCall``, an operation the legs' table does not allow ``IllegalOperation`` (409) with
the table's own words, a call held by another controller ``IllegalOperation("not_here")``.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from calls import legs
from hotline.api.ports import IllegalOperation, NoCurrentCall, NotYourCall, Unavailable
from hotline.three_party.rooms import NotHere, ThreeParty


# What a talking call with no room yet allows: the legs table's own answer for its start.
TWO_PARTY_ALLOWED = sorted(t.__name__ for t in legs.allowed(legs.start("", 0.0)))


def _time(raw: Any) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _screen(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class LiveCallDesk:
    def __init__(self, live: Any, registry: Any, rooms: ThreeParty, clock: Callable[[], float]) -> None:
        self._live = live
        self._registry = registry
        self._rooms = rooms
        self._clock = clock

    async def current_call(self, agent_id: str) -> dict[str, Any] | None:
        try:
            record = await self._live.agent(agent_id)
        except Exception as exc:
            raise Unavailable(f"live state: {exc}") from exc
        call_id = getattr(record, "call_id", "") if record else ""
        if not call_id:  # held for a blind transfer (the phone hung up, not yet in wrap-up)
            held = [r for r in self._rooms.rooms.values() if r.agent_id == agent_id
                    and r.value.state in legs.AGENT_HELD]
            call_id = held[-1].call_id if held else ""
        if not call_id:
            return None
        saved = await self._live.saved_call(call_id) or {}
        screen = _screen(saved.get("screen", ""))
        queued_at, answered_at = _time(saved.get("queued_at")), _time(saved.get("answered_at"))
        room = self._rooms.view(call_id)
        talking = saved.get("state") in ("talking", "survey") and record is not None and record.state.value == "on_call"
        return {"call_id": call_id, "caller": saved.get("caller", ""), "dnis": saved.get("dnis", ""),
                "queue": saved.get("queue", ""), "language": saved.get("language", ""),
                "skills": sorted(s for s in saved.get("skills", "").split(",") if s),
                "state": saved.get("state", record.state.value if record else ""),
                "since": _time(saved.get("since")) or None, "arrived_at": _time(saved.get("arrived_at")),
                "queued_at": queued_at, "answered_at": answered_at,
                "wait_seconds": max(0.0, answered_at - queued_at) if queued_at and answered_at else None,
                "ivr_path": screen.get("ivr_path", []), "repeat_calls": int(screen.get("repeat_calls") or 0),
                "follow_up_case": screen.get("follow_up_case") or None,
                "allowed": room["allowed"] if room else (TWO_PARTY_ALLOWED if talking else []),
                "three_party": room}

    async def _operate(self, agent_id: str, call_id: str, event: legs.LegEvent, agency_id: str = "",
                       numbers: tuple[str, ...] = ()) -> dict[str, Any]:
        current = await self.current_call(agent_id)
        if current is None:
            raise NoCurrentCall(f"agent {agent_id} has no call")
        if current["call_id"] != call_id:
            raise NotYourCall(f"call {call_id} is not agent {agent_id}'s")
        if call_id not in self._rooms.rooms:
            track = self._registry.tracks.get(call_id)
            if track is None or track.talking is None or not track.agent_channel:
                raise IllegalOperation("the call is held by another controller or is not talking",
                                       "not_here")
            talker, policy = track.talking
            self._rooms.room_for(call_id, talker, self._channel_of(call_id), track.agent_channel,
                                 track.answered_at or self._clock(), policy)
        try:
            await self._rooms.operate(call_id, agent_id, event, agency_id, numbers)
        except legs.IllegalTransition as exc:
            raise IllegalOperation(str(exc)) from exc
        except NotHere as exc:
            raise IllegalOperation(f"call {exc} is not held here", "not_here") from exc
        return {**current, "three_party": self._rooms.view(call_id)}

    def _channel_of(self, call_id: str) -> str:
        track = self._registry.tracks.get(call_id)
        return (track.citizen_channel if track is not None else "") or call_id

    async def consult(self, agent_id: str, call_id: str, agency_id: str, numbers: tuple[str, ...]) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.Consult(agency_id, numbers[0], self._clock()),
                                   agency_id, numbers)

    async def conference(self, agent_id: str, call_id: str, agency_id: str,
                         numbers: tuple[str, ...]) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.Conference(agency_id, numbers[0], self._clock()),
                                   agency_id, numbers)

    async def transfer(self, agent_id: str, call_id: str, agency_id: str, numbers: tuple[str, ...],
                       mode: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.BlindTransfer(agency_id, numbers[0], self._clock()),
                                   agency_id, numbers)

    async def join(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.Join(self._clock()))

    async def leave(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.Leave(self._clock()))

    async def cancel(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.CancelConsult(self._clock()))

    async def hangup_agency(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.HangUpAgency(self._clock()))

    async def complete_transfer(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return await self._operate(agent_id, call_id, legs.CompleteTransfer(self._clock()))
