"""What a call's three-party legs add to its record: one ``agency_leg`` event per leg (each
also a ``call_legs`` row, hotline/store/calls.py) and the attributes the KPIs count
(handling: direct, consulted, three-party or transferred; the agencies; who left first).

Pure, so the live room (hotline/three_party/rooms.py) and a survivor finishing the call of a
dead controller (hotline/sessions/orphans.py, from the value saved at every step) write the
same record.
"""
from __future__ import annotations

import json
from typing import Any

from calls import legs
from calls.records import CallEvent


SAVED_PART = "three_way"  # the field of a call's saved state that holds its room's value


def encode_saved(value: legs.ThreeWay, opened: bool) -> str:
    """The room's value as saved beside the call's (``opened``: a channel went into the room,
    so its recording exists)."""
    return json.dumps({**legs.to_dict(value), "opened": "1" if opened else ""}, separators=(",", ":"))


def decode_saved(text: str) -> tuple[legs.ThreeWay, bool]:
    """Back from ``encode_saved``; ValueError (or ``legs.BadLegData``) when unreadable."""
    stored = json.loads(text)
    if not isinstance(stored, dict):
        raise ValueError("not an object")
    return legs.from_dict({str(k): str(v) for k, v in stored.items()}), stored.get("opened") == "1"


def leg_events(call_id: str, value: legs.ThreeWay) -> list[CallEvent]:
    """One ``agency_leg`` event per leg dialled, at its dial time."""
    return [CallEvent(call_id, leg.dialled_at, "agency_leg", {
        "leg": index, "agency": leg.agency_id, "number": leg.number, "mode": leg.mode.value,
        "attempt": leg.attempt, "dialled_at": leg.dialled_at, "answered_at": leg.answered_at,
        "ended_at": leg.ended_at, "end": leg.end_reason.value if leg.end_reason else None})
        for index, leg in enumerate(value.legs)]


def record_attrs(value: legs.ThreeWay) -> dict[str, Any]:
    """The record's three-party attributes."""
    return {"handling": legs.handling(value).value,
            "agencies": sorted({lg.agency_id for lg in value.legs}),
            "who_left_first": value.who_left_first.value if value.who_left_first else None,
            "agent_left_at": value.agent_left_at, "three_party_outcome": value.outcome.value}


def conference_recording(call_recording: str) -> str:
    """The room's recording beside the call's (the dialplan's ``hotline-3way-recorded``
    names it ``<call id>-3way.wav``); "" when the call has no recording."""
    return call_recording[: -len(".wav")] + "-3way.wav" if call_recording.endswith(".wav") else ""
