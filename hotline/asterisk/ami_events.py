"""AMI events the controller cares about, as typed frozen values.

Protocol edges become typed events before any logic sees them (see docs/architecture):
handlers match on types, tests build events without Asterisk, and a malformed message
(missing field) is one clear ``None`` plus a log line instead of a KeyError deep inside.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Mapping, Union

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hangup:
    uniqueid: str
    channel: str
    cause: str


@dataclass(frozen=True)
class HangupRequested:
    """A party asked to end the channel (a caller's BYE): sent at once, while the Hangup
    event waits until the channel is gone, i.e. until its FastAGI session lets go of it."""

    uniqueid: str
    channel: str


@dataclass(frozen=True)
class DialBegin:
    """An agent leg starts ringing. ``uniqueid`` is the calling channel's, '' when there is
    none: a leg made by AMI Originate (a callback) is dialled by no channel."""

    uniqueid: str
    dest_uniqueid: str
    dest_channel: str


@dataclass(frozen=True)
class DialEnd:
    """An agent leg stopped ringing (``status`` ANSWER, NOANSWER, ...); ``uniqueid`` as in
    DialBegin."""

    uniqueid: str
    dest_uniqueid: str
    dest_channel: str
    status: str


@dataclass(frozen=True)
class FullyBooted:
    status: str


@dataclass(frozen=True)
class ChannelListed:
    """One row of a CoreShowChannels answer (resync after reconnect)."""

    uniqueid: str
    channel: str
    application: str
    bridged: bool = False  # in a bridge (BridgeId set): talking, e.g. a queue caller with a member


@dataclass(frozen=True)
class DeviceStateChanged:
    device: str
    state: str


@dataclass(frozen=True)
class OriginateResult:
    """Outcome of an asynchronous Originate (the new channel's Uniqueid, when we chose it)."""

    uniqueid: str
    success: bool
    reason: str


@dataclass(frozen=True)
class ConfbridgeJoined:
    """A channel entered a ConfBridge room (a three-party call's): the sign an operation that
    moved someone into the room is done."""

    uniqueid: str
    channel: str
    conference: str


@dataclass(frozen=True)
class ContactChanged:
    """A softphone's registration or reachability changed (PJSIP ContactStatus): Created and
    Removed on (un)registration, Reachable/Unreachable from the OPTIONS probes."""

    aor: str
    status: str
    uri: str = ""


AmiEvent = Union[Hangup, HangupRequested, DialBegin, DialEnd, FullyBooted, ChannelListed, DeviceStateChanged, OriginateResult,
                 ConfbridgeJoined, ContactChanged]


class _Malformed(Exception):
    """A message of an event we use lacks a field Asterisk always sends with it."""


def _get(msg: Mapping[str, str], key: str) -> str:
    value = msg.get(key)
    if value is None:
        raise _Malformed(f"without {key!r}")
    if not isinstance(value, str):  # panoramisk makes a list of a header sent twice
        raise _Malformed(f"with {key!r} more than once")
    return value


def _caller_uniqueid(msg: Mapping[str, str]) -> str:
    """The dialling channel's Uniqueid in DialBegin/DialEnd. Asterisk writes the caller's
    fields (Channel, ..., Uniqueid) only when there is a caller; an Originate'd leg has
    only the Dest ones. A Channel without its Uniqueid is malformed, though."""
    if msg.get("Uniqueid") is None and msg.get("Channel") is None:
        return ""
    return _get(msg, "Uniqueid")


_BUILDERS: dict[str, Callable[[Mapping[str, str]], AmiEvent]] = {
    "hangup": lambda m: Hangup(_get(m, "Uniqueid"), _get(m, "Channel"), str(m.get("Cause", ""))),
    "hanguprequest": lambda m: HangupRequested(_get(m, "Uniqueid"), _get(m, "Channel")),
    "dialbegin": lambda m: DialBegin(_caller_uniqueid(m), _get(m, "DestUniqueid"), _get(m, "DestChannel")),
    "dialend": lambda m: DialEnd(_caller_uniqueid(m), _get(m, "DestUniqueid"), _get(m, "DestChannel"),
                                 _get(m, "DialStatus")),
    "fullybooted": lambda m: FullyBooted(str(m.get("Status", ""))),
    "coreshowchannel": lambda m: ChannelListed(_get(m, "Uniqueid"), _get(m, "Channel"), str(m.get("Application", "")),
                                               bool(str(m.get("BridgeId", "") or "").strip())),
    "devicestatechange": lambda m: DeviceStateChanged(_get(m, "Device"), _get(m, "State")),
    "contactstatus": lambda m: ContactChanged(_get(m, "AOR"), _get(m, "ContactStatus"), str(m.get("URI", ""))),
    "confbridgejoin": lambda m: ConfbridgeJoined(_get(m, "Uniqueid"), _get(m, "Channel"), _get(m, "Conference")),
    "originateresponse": lambda m: OriginateResult(str(m.get("Uniqueid", "")), _get(m, "Response") == "Success",
                                                   str(m.get("Reason", ""))),
}

# The events the controller uses: manager.conf filters its AMI account to these (rendered
# eventfilter lines, asterisk_conf/templates/manager.conf.j2).
EVENT_NAMES = ("Hangup", "DialBegin", "DialEnd", "FullyBooted", "DeviceStateChange", "OriginateResponse",
               "ConfbridgeJoin", "ContactStatus", "HangupRequest")
# Their classes (Asterisk 22: FullyBooted is "system", the others "call"), sent at login.
# Asterisk wakes a session's thread only for events of its classes; the name filter is
# applied after that wake-up. With "on", every Newexten, RTCP report, ... of every call
# woke a thread inside Asterisk, e.g. the Newexten of the very Dial that offers a call.
EVENT_CATEGORIES = "call,system"


def parse_event(msg: Mapping[str, str]) -> AmiEvent | None:
    """Return the typed event for an AMI message, or None if it is not one we use or is
    malformed (logged). ``msg`` must look keys up case-insensitively, as panoramisk's does."""
    name = str(msg.get("Event", "")).lower()
    builder = _BUILDERS.get(name)
    if builder is None:
        return None
    try:
        return builder(msg)
    except _Malformed as exc:
        log.warning("malformed AMI %s event %s: ignored", name, exc)
        return None
