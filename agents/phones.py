"""What a softphone's registration and reachability mean for its agent, as data.

Why: an agent whose phone is gone (unregistered, or no longer answering the OPTIONS
probes) must not be offered calls: each offer would ring into the void for the whole ring
timeout and count a miss. The agent is paused with a reason the desk shows, and unpaused
when the phone is back, unless they paused themselves meanwhile (their own reason wins).
Seats with a fixed contact (phones that never register) are outside these rules.
"""
from __future__ import annotations

from enum import StrEnum

from agents.state import AgentRecord, AgentState


class Phone(StrEnum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    UNREGISTERED = "unregistered"


class PhoneAction(StrEnum):
    PAUSE = "pause"
    UNPAUSE = "unpause"
    NOTHING = "nothing"


# PJSIP's ContactStatus values (res_pjsip: Created/Removed on REGISTER, the rest from qualify).
STATUS_TO_PHONE: dict[str, Phone] = {
    "Created": Phone.REACHABLE, "Updated": Phone.REACHABLE, "Reachable": Phone.REACHABLE,
    "NonQualified": Phone.REACHABLE, "Unreachable": Phone.UNREACHABLE, "Removed": Phone.UNREGISTERED,
}
PAUSE_REASON = {Phone.UNREACHABLE: "phone_unreachable", Phone.UNREGISTERED: "phone_unregistered"}
PHONE_REASONS = frozenset(PAUSE_REASON.values())

# (phone, agent state) -> action. States not listed: nothing (logged out: no shift to
# protect; paused: see ``action``).
RULES: dict[tuple[Phone, AgentState], PhoneAction] = {
    **{(gone, state): PhoneAction.PAUSE
       for gone in (Phone.UNREACHABLE, Phone.UNREGISTERED)
       for state in (AgentState.AVAILABLE, AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL,
                     AgentState.WRAP_UP)},
    (Phone.REACHABLE, AgentState.PAUSED): PhoneAction.UNPAUSE,
}


def phone_of(status: str) -> Phone | None:
    """The phone's condition for a ContactStatus value; None for one that says nothing
    (``Unknown``: not probed yet)."""
    return STATUS_TO_PHONE.get(status)


def action(record: AgentRecord, phone: Phone) -> PhoneAction:
    """What to do to the agent now that their phone is ``phone``."""
    found = RULES.get((phone, record.state), PhoneAction.NOTHING)
    if found is PhoneAction.UNPAUSE and record.pause_reason not in PHONE_REASONS:
        return PhoneAction.NOTHING  # paused for their own reason: the phone coming back changes nothing
    if found is PhoneAction.PAUSE and record.pause_reason in PHONE_REASONS:
        return PhoneAction.NOTHING  # a pause for the phone is already pending (on a call, in wrap-up)
    return found
