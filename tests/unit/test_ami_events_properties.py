"""Property-based: hotline.asterisk.ami_events.parse_event takes any AMI message without raising
(an event it uses, or None), reads well-formed events back exactly, and warns only about
messages that really lack a field Asterisk always sends."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st
from panoramisk.message import Message
from panoramisk.utils import EOL

from hotline.asterisk.ami_events import (
    AmiEvent,
    ChannelListed,
    DeviceStateChanged,
    DialBegin,
    DialEnd,
    FullyBooted,
    Hangup,
    OriginateResult,
    parse_event,
)
from tests.unit.test_ami_events import wire

AMI = settings(max_examples=200, deadline=None)
NAMES = ["Hangup", "DialBegin", "DialEnd", "FullyBooted", "CoreShowChannel", "DeviceStateChange",
         "OriginateResponse", "Newchannel", ""]
KEYS = ["Event", "Uniqueid", "Channel", "Cause", "DestUniqueid", "DestChannel", "DialStatus", "Status",
        "Application", "Device", "State", "Response", "Reason", "Linkedid"]

# A header value as it survives panoramisk's parsing: on one line, not empty.
value = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20)
any_case = st.sampled_from(KEYS).flatmap(lambda k: st.sampled_from([k, k.lower(), k.upper()]))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def logged() -> Iterator[list[logging.LogRecord]]:
    """What hotline.asterisk.ami_events logs inside the block (caplog is per test, not per example)."""
    logger, handler = logging.getLogger("hotline.asterisk.ami_events"), _Records()
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def parsed(msg: object) -> AmiEvent | None:
    event = parse_event(msg)  # type: ignore[arg-type]
    assert event is None or isinstance(event, (Hangup, DialBegin, DialEnd, FullyBooted, ChannelListed,
                                               DeviceStateChanged, OriginateResult))
    return event


@AMI
@given(headers=st.dictionaries(st.one_of(any_case, st.text(max_size=12)),
                               st.one_of(st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3)),
                               max_size=10),
       name=st.sampled_from(NAMES).flatmap(lambda n: st.sampled_from([n, n.lower(), n.upper()])))
def test_any_headers_give_an_event_or_none(headers: dict[str, object], name: str) -> None:
    parsed(Message({**headers, "Event": name}))
    parsed(Message(headers))


@AMI
@given(lines=st.lists(st.one_of(st.text(max_size=40),
                                st.tuples(any_case, st.text(max_size=20)).map(": ".join),
                                st.sampled_from(NAMES).map("Event: {}".format)), max_size=12))
def test_any_wire_text_gives_an_event_or_none(lines: list[str]) -> None:
    msg = Message.from_line(EOL.join(lines) + EOL)
    if msg is not None:
        parsed(msg)


def dial_lines(kind: str, caller: tuple[str, str] | None, dest_uid: str, dest_chan: str, status: str) -> list[str]:
    lines = [f"Event: {kind}", "Privilege: call,all"]
    if caller is not None:
        lines += [f"Channel: {caller[1]}", "ChannelState: 6", f"Uniqueid: {caller[0]}"]
    lines += [f"DestChannel: {dest_chan}", "DestChannelState: 0", f"DestUniqueid: {dest_uid}"]
    return lines + ([f"DialStatus: {status}"] if kind == "DialEnd" else ["DialString: 1001"])


@AMI
@given(kind=st.sampled_from(["DialBegin", "DialEnd"]), caller=st.none() | st.tuples(value, value),
       dest_uid=value, dest_chan=value, status=value)
def test_dial_events_round_trip_with_or_without_a_caller(kind: str, caller: tuple[str, str] | None,
                                                         dest_uid: str, dest_chan: str, status: str) -> None:
    """An Originate'd leg (no caller) is as well-formed as a dialled one: no warning."""
    uid = caller[0] if caller else ""
    expected = DialBegin(uid, dest_uid, dest_chan) if kind == "DialBegin" else DialEnd(uid, dest_uid, dest_chan, status)
    with logged() as records:
        assert parsed(wire(*dial_lines(kind, caller, dest_uid, dest_chan, status))) == expected
    assert records == []


@AMI
@given(kind=st.sampled_from(["DialBegin", "DialEnd"]), channel=value, dest_uid=value, dest_chan=value,
       drop=st.sampled_from(["Uniqueid", "DestUniqueid", "DestChannel", "DialStatus"]))
def test_dial_events_missing_a_field_asterisk_always_sends_warn(kind: str, channel: str, dest_uid: str,
                                                                dest_chan: str, drop: str) -> None:
    lines = dial_lines(kind, ("1.1", channel), dest_uid, dest_chan, "ANSWER")
    kept = [line for line in lines if not line.startswith(f"{drop}: ")]
    with logged() as records:
        event = parsed(wire(*kept))
    if len(kept) == len(lines):  # nothing dropped (DialStatus is only in DialEnd)
        assert event is not None and records == []
    else:
        assert event is None
        assert [r.levelno for r in records] == [logging.WARNING] and drop in records[0].getMessage()


@AMI
@given(uid=value, channel=value, cause=st.none() | value, device=value, state=value,
       success=st.booleans(), reason=value)
def test_other_events_round_trip(uid: str, channel: str, cause: str | None, device: str, state: str,
                                 success: bool, reason: str) -> None:
    hangup = ["Event: Hangup", f"Channel: {channel}", f"Uniqueid: {uid}"] + ([f"Cause: {cause}"] if cause else [])
    assert parsed(wire(*hangup)) == Hangup(uid, channel, cause or "")
    assert parsed(wire("Event: CoreShowChannel", f"Channel: {channel}", f"Uniqueid: {uid}",
                       "Application: AGI")) == ChannelListed(uid, channel, "AGI")
    assert parsed(wire("Event: DeviceStateChange", f"Device: {device}", f"State: {state}")) == \
        DeviceStateChanged(device, state)
    response = "Success" if success else "Failure"
    assert parsed(wire("Event: OriginateResponse", f"Response: {response}", f"Uniqueid: {uid}",
                       f"Reason: {reason}")) == OriginateResult(uid, success, reason)
