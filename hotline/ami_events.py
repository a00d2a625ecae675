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
class DialBegin:
    uniqueid: str
    dest_uniqueid: str
    dest_channel: str


@dataclass(frozen=True)
class DialEnd:
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


AmiEvent = Union[Hangup, DialBegin, DialEnd, FullyBooted, ChannelListed, DeviceStateChanged, OriginateResult]


def _get(msg: Mapping[str, str], key: str) -> str:
    value = msg.get(key)
    if value is None:
        raise KeyError(key)
    return str(value)


_BUILDERS: dict[str, Callable[[Mapping[str, str]], AmiEvent]] = {
    "hangup": lambda m: Hangup(_get(m, "Uniqueid"), _get(m, "Channel"), str(m.get("Cause", ""))),
    "dialbegin": lambda m: DialBegin(_get(m, "Uniqueid"), _get(m, "DestUniqueid"), _get(m, "DestChannel")),
    "dialend": lambda m: DialEnd(_get(m, "Uniqueid"), _get(m, "DestUniqueid"), _get(m, "DestChannel"), _get(m, "DialStatus")),
    "fullybooted": lambda m: FullyBooted(str(m.get("Status", ""))),
    "coreshowchannel": lambda m: ChannelListed(_get(m, "Uniqueid"), _get(m, "Channel"), str(m.get("Application", ""))),
    "devicestatechange": lambda m: DeviceStateChanged(_get(m, "Device"), _get(m, "State")),
    "originateresponse": lambda m: OriginateResult(str(m.get("Uniqueid", "")), _get(m, "Response") == "Success",
                                                   str(m.get("Reason", ""))),
}

# The events the controller asks Asterisk for (hotline.ami.AmiClient.subscribe_only).
EVENT_NAMES = ("Hangup", "DialBegin", "DialEnd", "FullyBooted", "DeviceStateChange", "OriginateResponse")
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
    except KeyError as exc:
        log.warning("malformed AMI %s event without %s: ignored", name, exc)
        return None
