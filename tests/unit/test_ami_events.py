"""hotline.asterisk.ami_events.parse_event on panoramisk messages, and hotline.ami.Backoff."""
from __future__ import annotations

import logging

import pytest
from panoramisk.message import Message
from panoramisk.utils import EOL, CaseInsensitiveDict

from hotline.asterisk.ami import Backoff
from hotline.asterisk.ami_events import (
    ChannelListed,
    DeviceStateChanged,
    DialBegin,
    DialEnd,
    FullyBooted,
    Hangup,
    parse_event,
)


def wire(*lines: str) -> Message:
    """An AMI message as panoramisk builds it from what Asterisk sends on the socket."""
    msg = Message.from_line(EOL.join(lines) + EOL)
    assert msg is not None
    return msg


HANGUP_LINES = (
    "Event: Hangup", "Privilege: call,all", "Channel: PJSIP/trunk-00000001",
    "ChannelState: 6", "ChannelStateDesc: Up", "CallerIDNum: 13800000001",
    "Uniqueid: 1700000000.5", "Linkedid: 1700000000.5", "Cause: 16", "Cause-txt: Normal Clearing",
)


@pytest.mark.parametrize("msg, expected", [
    (wire(*HANGUP_LINES), Hangup("1700000000.5", "PJSIP/trunk-00000001", "16")),
    (wire("Event: DialBegin", "Channel: PJSIP/trunk-00000001", "Uniqueid: 1700000000.5",
          "DestChannel: PJSIP/1001-00000002", "DestUniqueid: 1700000000.6", "DialString: 1001"),
     DialBegin("1700000000.5", "1700000000.6", "PJSIP/1001-00000002")),
    (wire("Event: DialEnd", "Uniqueid: 1700000000.5", "DestChannel: PJSIP/1001-00000002",
          "DestUniqueid: 1700000000.6", "DialStatus: NOANSWER"),
     DialEnd("1700000000.5", "1700000000.6", "PJSIP/1001-00000002", "NOANSWER")),
    (wire("Event: FullyBooted", "Privilege: system,all", "Uptime: 3", "Status: Fully Booted"),
     FullyBooted("Fully Booted")),
    (wire("Event: CoreShowChannel", "ActionID: a1", "Channel: PJSIP/trunk-00000001",
          "Uniqueid: 1700000000.5", "Application: AGI", "ApplicationData: agi://127.0.0.1:4573/call"),
     ChannelListed("1700000000.5", "PJSIP/trunk-00000001", "AGI")),
    (wire("Event: DeviceStateChange", "Device: PJSIP/1001", "State: INUSE"),
     DeviceStateChanged("PJSIP/1001", "INUSE")),
])
def test_parse_real_wire_messages(msg: Message, expected: object) -> None:
    assert parse_event(msg) == expected


@pytest.mark.parametrize("headers, expected", [
    ({"event": "HANGUP", "UNIQUEID": "1.1", "channel": "PJSIP/a-1"}, Hangup("1.1", "PJSIP/a-1", "")),
    ({"EVENT": "dialbegin", "uniqueID": "1.1", "destuniqueid": "1.2", "DESTCHANNEL": "PJSIP/b-2"},
     DialBegin("1.1", "1.2", "PJSIP/b-2")),
    ({"Event": "dIaLeNd", "UniqueID": "1.1", "DestUniqueID": "1.2", "DestChannel": "PJSIP/b-2",
      "dialstatus": "ANSWER"}, DialEnd("1.1", "1.2", "PJSIP/b-2", "ANSWER")),
    ({"event": "fullybooted"}, FullyBooted("")),
    ({"Event": "coreshowchannel", "UNIQUEID": "1.3", "CHANNEL": "Local/x@y-1;1"}, ChannelListed("1.3", "Local/x@y-1;1", "")),
    ({"event": "DEVICESTATECHANGE", "device": "PJSIP/1002", "state": "NOT_INUSE"},
     DeviceStateChanged("PJSIP/1002", "NOT_INUSE")),
])
def test_case_insensitive_keys_and_names(headers: dict[str, str], expected: object) -> None:
    assert parse_event(Message(headers)) == expected
    assert parse_event(CaseInsensitiveDict(headers)) == expected


# What Asterisk 22 sends for the agent leg of an AMI Originate (a callback): no calling
# channel, so none of the caller's fields (Channel, ..., Uniqueid), only the Dest ones.
ORIGINATED_DEST = ("DestChannel: PJSIP/1001-0000000a", "DestChannelState: 0", "DestChannelStateDesc: Down",
                   "DestCallerIDNum: 1001", "DestUniqueid: c1-cb123", "DestLinkedid: c1-cb123")


@pytest.mark.parametrize("msg, expected", [
    (wire("Event: DialBegin", "Privilege: call,all", *ORIGINATED_DEST, "DialString: 1001"),
     DialBegin("", "c1-cb123", "PJSIP/1001-0000000a")),
    (wire("Event: DialEnd", "Privilege: call,all", *ORIGINATED_DEST, "DialStatus: ANSWER"),
     DialEnd("", "c1-cb123", "PJSIP/1001-0000000a", "ANSWER")),
])
def test_originated_leg_dial_events_parse_without_a_warning(msg: Message, expected: object,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="hotline.asterisk.ami_events"):
        assert parse_event(msg) == expected
    assert caplog.records == []


@pytest.mark.parametrize("headers, missing", [
    ({"Event": "Hangup", "Channel": "PJSIP/a-1"}, "Uniqueid"),
    ({"Event": "Hangup", "Uniqueid": "1.1"}, "Channel"),
    ({"Event": "DialBegin", "Uniqueid": "1.1", "DestChannel": "PJSIP/b-2"}, "DestUniqueid"),
    ({"Event": "DialEnd", "Uniqueid": "1.1", "DestUniqueid": "1.2", "DestChannel": "PJSIP/b-2"}, "DialStatus"),
    ({"Event": "CoreShowChannel", "Channel": "PJSIP/a-1"}, "Uniqueid"),
    ({"Event": "DeviceStateChange", "Device": "PJSIP/1001"}, "State"),
    # a caller's Channel without its Uniqueid is broken, not an Originate'd leg
    ({"Event": "DialBegin", "Channel": "PJSIP/a-1", "DestUniqueid": "1.2", "DestChannel": "PJSIP/b-2"}, "Uniqueid"),
    ({"Event": "DialEnd", "Channel": "PJSIP/a-1", "DestUniqueid": "1.2", "DestChannel": "PJSIP/b-2",
      "DialStatus": "ANSWER"}, "Uniqueid"),
    ({"Event": "DialBegin", "Uniqueid": "1.1", "DestUniqueid": "1.2"}, "DestChannel"),
])
def test_malformed_events_are_none_and_logged(headers: dict[str, str], missing: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotline.asterisk.ami_events"):
        assert parse_event(Message(headers)) is None
    assert missing in caplog.text


def test_a_field_sent_twice_is_malformed(caplog: pytest.LogCaptureFixture) -> None:
    """panoramisk turns a repeated header into a list; it is no Uniqueid to match on."""
    msg = wire("Event: Hangup", "Channel: PJSIP/a-1", "Uniqueid: 1.1", "Uniqueid: 1.2")
    with caplog.at_level(logging.WARNING, logger="hotline.asterisk.ami_events"):
        assert parse_event(msg) is None
    assert "more than once" in caplog.text


@pytest.mark.parametrize("headers", [
    {"Event": "Newchannel", "Uniqueid": "1.1", "Channel": "PJSIP/a-1"},
    {"Event": "VarSet", "Variable": "X", "Value": "1"},
    {"Event": "QueueMemberStatus", "Queue": "hotline-fallback"},
    {"Event": "CoreShowChannelsComplete", "ListItems": "0"},
    {"Response": "Success", "Message": "Authentication accepted"},  # a response, not an event
    {"Event": ""},
    {},
])
def test_unknown_or_missing_event_name_is_none(headers: dict[str, str]) -> None:
    assert parse_event(Message(headers)) is None


def test_backoff_sequence_caps_at_ten_seconds() -> None:
    backoff = Backoff()
    assert [backoff.next_delay() for _ in range(9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]


def test_backoff_reset_starts_over() -> None:
    backoff = Backoff()
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert [backoff.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]


def test_backoff_custom_first_and_cap() -> None:
    backoff = Backoff(first=1.0, cap=3.0)
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_the_login_event_classes_cover_every_event_the_controller_uses() -> None:
    """Asterisk sends a session only the classes it logged in with; an event added to
    EVENT_NAMES in a class not asked for would never arrive (classes from Asterisk 22's
    manager_event calls)."""
    from hotline.asterisk.ami_events import EVENT_CATEGORIES, EVENT_NAMES

    asterisk_class = {"Hangup": "call", "DialBegin": "call", "DialEnd": "call", "DeviceStateChange": "call",
                      "OriginateResponse": "call", "ConfbridgeJoin": "call", "FullyBooted": "system",
                      "ContactStatus": "system",  # main/stasis_endpoints.c
                      "HangupRequest": "call"}  # main/manager_channels.c
    assert set(EVENT_NAMES) == set(asterisk_class)
    assert {asterisk_class[n] for n in EVENT_NAMES} == set(EVENT_CATEGORIES.split(","))
