"""What the real Asterisk 22 writes on AMI, replayed through hotline.asterisk.ami_events.parse_event.

The transcripts (tests/contract/transcripts, recorded by tests.contract.capture_ami from a
test hotline: SIPp citizens and phones, the controller, test queue timing) are the
contract: the fields and the order of events the controller's AMI handling relies on.
"""
from __future__ import annotations

import logging
from typing import Sequence

import pytest
from panoramisk import utils
from panoramisk.message import Message

from hotline.asterisk.ami_events import (
    EVENT_CATEGORIES,
    EVENT_NAMES,
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
from tests.contract.ami_replay import (
    TRANSCRIPTS,
    read_messages,
    replay,
    split_blocks,
    transcript,
    typed_events,
)

ALL = sorted(p.stem for p in TRANSCRIPTS.glob("*.ami"))
CALLS = ["answered", "rona", "caller_hangup_ringing", "callback_missed", "callback"]
# What parse_event turns into a typed event: the names the controller's account is
# filtered to, and the rows of a CoreShowChannels answer.
USED = {name.lower() for name in EVENT_NAMES} | {"coreshowchannel"}


def story(events: Sequence[AmiEvent], uniqueid: str) -> list[str]:
    """What happened to one channel, as short words, in order."""
    words = []
    for e in events:
        if isinstance(e, DialBegin) and e.dest_uniqueid == uniqueid:
            words.append("DialBegin")
        elif isinstance(e, DialEnd) and e.dest_uniqueid == uniqueid:
            words.append(f"DialEnd {e.status}")
        elif isinstance(e, OriginateResult) and e.uniqueid == uniqueid:
            words.append(f"Originate {'success' if e.success else 'failure ' + e.reason}")
        elif isinstance(e, Hangup) and e.uniqueid == uniqueid:
            words.append("Hangup")
    return words


def of_type(events: Sequence[AmiEvent], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def leg_to(events: Sequence[AmiEvent], prefix: str) -> DialBegin:
    """The one DialBegin whose destination channel starts with ``prefix``."""
    (dial,) = [e for e in of_type(events, DialBegin) if e.dest_channel.startswith(prefix)]
    return dial


def test_all_transcripts_are_there() -> None:
    assert set(ALL) == {*CALLS, "coreshowchannels", "login"}


@pytest.mark.parametrize("name", ALL)
def test_used_events_parse_and_no_other_does_without_a_warning(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Every event the controller uses, as Asterisk 22 really sends it, has the fields
    parse_event requires; every other event is None, and nothing is logged."""
    with caplog.at_level(logging.DEBUG, logger="hotline.asterisk.ami_events"):
        replayed = list(replay(transcript(name)))
    assert replayed
    for r in replayed:
        assert (r.event is not None) == (r.name.lower() in USED), r.message
    assert caplog.records == []


@pytest.mark.parametrize("name", CALLS + ["login"])
def test_the_controllers_event_classes_carry_every_event_it_uses(name: str) -> None:
    """The controller logs in with Events: EVENT_CATEGORIES; Asterisk sends an event only
    to a session holding one of its classes (the Privilege header)."""
    wanted = set(EVENT_CATEGORIES.split(","))
    for r in replay(transcript(name)):
        if r.name in EVENT_NAMES:
            assert wanted & set(r.message["Privilege"].split(",")), r.message


def test_answered_call_dial_begin_then_answer_then_hangups() -> None:
    events = typed_events(transcript("answered"))
    dial = leg_to(events, "PJSIP/2002-")
    assert story(events, dial.dest_uniqueid) == ["DialBegin", "DialEnd ANSWER", "Hangup"]
    (end,) = of_type(events, DialEnd)
    assert end.uniqueid == dial.uniqueid  # the caller's channel: the AGI session's uniqueid
    assert [h.uniqueid for h in of_type(events, Hangup)] == [dial.dest_uniqueid, dial.uniqueid]
    assert [(d.device, d.state) for d in of_type(events, DeviceStateChanged) if d.device == "PJSIP/2002"] == [
        ("PJSIP/2002", "RINGING"), ("PJSIP/2002", "INUSE"), ("PJSIP/2002", "NOT_INUSE")]


def test_ring_no_answer_ends_the_leg_with_noanswer_while_the_caller_stays() -> None:
    events = typed_events(transcript("rona"))
    dial = leg_to(events, "PJSIP/2001-")
    assert story(events, dial.dest_uniqueid) == ["DialBegin", "DialEnd NOANSWER", "Hangup"]
    assert [h.uniqueid for h in of_type(events, Hangup)] == [dial.dest_uniqueid, dial.uniqueid]


def test_caller_hanging_up_while_the_agent_rings_ends_the_leg_with_cancel() -> None:
    events = typed_events(transcript("caller_hangup_ringing"))
    dial = leg_to(events, "PJSIP/2001-")
    assert story(events, dial.dest_uniqueid) == ["DialBegin", "DialEnd CANCEL", "Hangup"]
    assert story(events, dial.uniqueid) == ["Hangup"]
    (end,) = of_type(events, DialEnd)
    assert events.index(end) < events.index(next(h for h in of_type(events, Hangup) if h.uniqueid == dial.uniqueid))


def test_unanswered_callback_leg_has_no_caller_no_dial_end_and_a_failed_originate() -> None:
    """An Originate'd leg is dialled by no channel (DialBegin's uniqueid is ''); unanswered,
    it ends with OriginateResponse Failure (reason 3: no answer) under the ChannelId the
    controller chose, and no DialEnd at all."""
    events = typed_events(transcript("callback_missed"))
    legs = [d for d in of_type(events, DialBegin) if d.dest_channel.startswith("PJSIP/2001-")]
    assert legs and all(d.uniqueid == "" for d in legs)
    first = legs[0].dest_uniqueid
    assert "-cb" in first  # the controller's channel_id: "<call id>-cb<n>"
    assert story(events, first) == ["DialBegin", "Originate failure 3", "Hangup"]
    assert of_type(events, DialEnd) == []


def test_answered_callback_leg_then_the_citizen_is_dialled_from_it() -> None:
    events = typed_events(transcript("callback"))
    agent = leg_to(events, "PJSIP/2002-")
    assert agent.uniqueid == ""
    assert story(events, agent.dest_uniqueid) == ["DialBegin", "Originate success", "DialEnd ANSWER", "Hangup"]
    citizen = leg_to(events, "PJSIP/trunk-out-")
    assert citizen.uniqueid == agent.dest_uniqueid  # the callback AGI session runs on the agent's leg
    assert story(events, citizen.dest_uniqueid) == ["DialBegin", "DialEnd ANSWER", "Hangup"]
    assert events.index(citizen) > events.index(next(iter(of_type(events, OriginateResult))))


def test_originate_response_carries_the_originating_sessions_action_id() -> None:
    """Why the controller originates with Async: true: the event comes with the ActionID of
    the controller's Originate, and panoramisk hands a message whose ActionID is still
    pending to that action's future instead of the event handlers."""
    for name in ("callback_missed", "callback"):
        responses = [r.message for r in replay(transcript(name)) if r.name == "OriginateResponse"]
        assert responses and all(m.get("ActionID", "").startswith("action/") for m in responses)


def test_core_show_channels_rows_list_the_channels_of_a_call() -> None:
    rows = typed_events(transcript("coreshowchannels"))
    assert all(isinstance(r, ChannelListed) for r in rows)
    assert [(r.channel.split("-")[0], r.application) for r in rows] == [
        ("PJSIP/trunk", "Dial"), ("PJSIP/2002", "AppDial")]


def test_login_is_answered_and_followed_by_fully_booted() -> None:
    messages = read_messages(transcript("login"))
    assert messages[0]["Response"] == "Success"
    assert typed_events(transcript("login")) == [FullyBooted("Fully Booted")]


def test_messages_read_like_panoramisks_keys_in_any_case() -> None:
    (message, *_) = read_messages(transcript("answered"))
    assert message["event"] == message["EVENT"] == message["Event"] == "Newchannel"
    assert message.uniqueid == message["Uniqueid"]


def test_crlf_and_lf_transcripts_and_panoramisk_testing_eol_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    text = transcript("rona").read_text()
    lf = [parse_event(m) for m in _messages(text)]
    crlf = [parse_event(m) for m in _messages(text.replace("\n", "\r\n"))]
    monkeypatch.setattr(utils, "EOL", "\n")  # what panoramisk.testing.Manager does to the module
    testing = [parse_event(m) for m in _messages(text)]
    assert lf == crlf == testing and any(lf)


def _messages(text: str) -> list[Message]:
    return [Message.from_line(block) for block in split_blocks(text)]
