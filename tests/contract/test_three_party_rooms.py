"""The three-party shell (hotline/three_party/rooms.py ``ThreeParty`` and desk.py ``LiveCallDesk``)
against a fake AMI client that records every action, in order.

The desk's operations go through the real ``LiveCallDesk`` (over the in-memory live state and the
real ``CallRegistry``, with the call's track set as the session sets it once the agent answered);
Asterisk's side is played by feeding the typed AMI events (``OriginateResult``, ``Hangup``) to
``ThreeParty.handlers`` and letting the tasks they spawn (real ``TaskOwner``) run. The session's
part of the hand-over (``_hand_over``: the registry forgets the call, the room ``take_over``s the
record) is played right after the first operation, as it happens in production: the Redirect ends
the session's Dial at once.


"""
from __future__ import annotations

import json

import asyncio
import inspect
import logging
from dataclasses import replace
from typing import Any, AsyncIterator

import pytest

from agents.state import AgentRecord, AgentState
from calls.records import CallEvent, CallRecord
from hotline.api.ports import IllegalOperation, NoCurrentCall, NotYourCall
from hotline.asterisk.ami import AmiClient
from hotline.asterisk.ami_events import Hangup, OriginateResult
from hotline.sessions.registry import CallRegistry
from hotline.tasks import TaskOwner
from hotline.three_party.desk import LiveCallDesk
from hotline.three_party.rooms import ThreeParty
from tests.contract.fake_live import InMemoryLiveState

ANSWERED = 1_800_000_000.0
CALL = "1800000000.41"                 # the citizen's Uniqueid is the call id
CITIZEN = "PJSIP/trunk-00000029"       # the citizen's channel
TAKER = "PJSIP/2001-0000002a"          # the call taker's leg, as DialEnd named it
TAKER_UNIQUEID = "1800000000.42"
AGENT = "2001"
ROOM = f"hl3-{CALL}"
CTX = "hotline-3way"
POLICY = "policy-of-main"              # the queue's policy, passed through to wrap-up untouched
WATER = "water"
W1, W2 = "053186060001", "053186060002"
POLICE = "traffic_police"
P1 = "053186010099"
RING = 30


# -- the fake AMI client --------------------------------------------------------------------


class FakeAmi:
    """``AmiClient``'s actions as used by the three-party shell; every call recorded in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._seen = 0

    async def action(self, fields: dict[str, str], timeout: float = 5.0, as_list: bool | None = None) -> Any:
        self.calls.append(("action", dict(fields)))
        return {"Response": "Success"}

    async def setvar(self, channel: str, name: str, value: str) -> None:
        self.calls.append(("setvar", channel, name, value))

    async def hangup(self, channel: str) -> None:
        self.calls.append(("hangup", channel))

    async def originate(self, channel: str, context: str, exten: str, variables: dict[str, str],
                        caller_id: str = "", timeout_ms: int = 30000, channel_id: str = "") -> None:
        self.calls.append(("originate", {"Channel": channel, "Context": context, "Exten": exten,
                                         "Variables": dict(variables), "CallerID": caller_id,
                                         "Timeout": timeout_ms, "ChannelId": channel_id}))

    async def redirect(self, channel: str, context: str, exten: str = "s", priority: int = 1) -> None:
        self.calls.append(("redirect", channel, context, exten, priority))

    def new(self) -> list[tuple[Any, ...]]:
        """The calls since the last look."""
        fresh = self.calls[self._seen:]
        self._seen = len(self.calls)
        return fresh

    def redirects(self) -> list[dict[str, str]]:
        return [c[1] for c in self.calls if c[0] == "action" and c[1].get("Action") == "Redirect"]


def redirect_both(citizen_exten: str) -> tuple[Any, ...]:
    """The first move out of the session's Dial: ONE Redirect for citizen and call taker."""
    return ("action", {"Action": "Redirect", "Channel": CITIZEN, "Context": CTX, "Exten": citizen_exten,
                       "Priority": "1", "ExtraChannel": TAKER, "ExtraContext": CTX, "ExtraExten": "taker",
                       "ExtraPriority": "1"})


def redirect_citizen(exten: str) -> tuple[Any, ...]:
    return ("action", {"Action": "Redirect", "Channel": CITIZEN, "Context": CTX, "Exten": exten, "Priority": "1"})


def citizen_moves(exten: str) -> list[tuple[Any, ...]]:
    """The citizen alone moves (hold <-> room), after the first move."""
    return [("setvar", CITIZEN, "HL_ROOM", ROOM), redirect_citizen(exten)]


def first_move(citizen_exten: str) -> list[tuple[Any, ...]]:
    return [("setvar", CITIZEN, "HL_ROOM", ROOM), ("setvar", TAKER, "HL_ROOM", ROOM), redirect_both(citizen_exten)]


def dial(number: str, leg: int) -> tuple[Any, ...]:
    return ("originate", {"Channel": f"Local/{number}@hotline-agency/n", "Context": CTX, "Exten": "agency",
                          "Variables": {"HL_ROOM": ROOM, "HOTLINE_AGENCY_RING": str(RING)}, "CallerID": "",
                          "Timeout": (RING + 5) * 1000, "ChannelId": f"{CALL}.ag{leg}"})


RING_BACK = ("originate", {"Channel": f"PJSIP/{AGENT}", "Context": CTX, "Exten": "taker",
                           "Variables": {"HL_ROOM": ROOM}, "CallerID": "", "Timeout": RING * 1000,
                           "ChannelId": f"{CALL}.back"})


# -- the world around the shell --------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _nothing(*_args: Any) -> None:
    return None


class World:
    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.clock = Clock(ANSWERED + 10)
        self.tasks = TaskOwner("test-3way")
        self.ami = FakeAmi()
        self.wrap_ups: list[tuple[str, Any, float]] = []
        self.written: list[tuple[CallRecord, list[CallEvent]]] = []
        self.desk_events: list[tuple[str, dict[str, Any]]] = []
        self.rooms = ThreeParty(self.clock, self.tasks, self.ami, self._call_ended, self._write,
                                self._notify, agency_ring_seconds=RING)
        self.live = InMemoryLiveState(self.clock)
        self.registry = CallRegistry(self.clock, self.tasks, hang_up=_nothing, agent_answered=_nothing,
                                     orphan=_nothing)
        self.desk = LiveCallDesk(self.live, self.registry, self.rooms, self.clock)

    async def _call_ended(self, agent_id: str, policy: Any, answered_at: float) -> None:
        """``AgentService.call_ended``: the agent goes to wrap-up, still bound to the call."""
        self.wrap_ups.append((agent_id, policy, answered_at))
        await self.live.update_agent(agent_id, lambda r: replace(r, state=AgentState.WRAP_UP, since=self.clock()))

    async def _write(self, record: CallRecord, events: list[CallEvent]) -> None:
        self.written.append((record, list(events)))

    def _notify(self, agent_id: str, event: dict[str, Any]) -> None:
        self.desk_events.append((agent_id, event))

    def notices(self) -> list[tuple[str, str]]:
        return [(e["reason"], e["next_number"]) for _, e in self.desk_events if e["kind"] == "three_party_notice"]

    # -- the session's side ------------------------------------------------------------------
    async def talking(self, call_id: str = CALL, agent: str = AGENT, citizen: str = CITIZEN,
                      taker: str = TAKER) -> None:
        """The call is talking, as the session and the registry leave it at the agent's answer."""
        await self.live.put_agent(AgentRecord(agent, AgentState.ON_CALL, since=ANSWERED, call_id=call_id,
                                              queue="main"))
        await self.live.save_call("ctl-a", {"call_id": call_id, "caller": "13700000001", "queue": "main",
                                            "language": "zh", "state": "talking", "since": repr(ANSWERED)})
        track = self.registry.register(call_id)
        track.citizen_channel, track.agent_channel, track.answered_at = citizen, taker, ANSWERED
        track.talking = (agent, POLICY)

    async def hand_over(self, call_id: str = CALL) -> None:
        """The session's Dial ended under the Redirect: ``_hand_over`` gives the room its record."""
        assert self.rooms.holds(call_id)
        record = CallRecord(call_id, "13700000001", "12345", arrived_at=ANSWERED - 40, queue="main",
                            language="zh", queued_at=ANSWERED - 20, answered_at=ANSWERED, agent_id=AGENT,
                            outcome="answered", recording=f"/rec/{call_id}.wav", attrs={"controller": "ctl-a"})
        events = [CallEvent(call_id, ANSWERED, "answered", {"agent": AGENT, "at": ANSWERED}),
                  CallEvent(call_id, self.clock(), "three_party_started", {})]
        self.registry.unregister(call_id)
        await self.rooms.take_over(call_id, record, events)
        await self.settle()

    async def consult(self, agency: str = WATER, numbers: tuple[str, ...] = (W1, W2)) -> dict[str, Any]:
        """The first operation of a call: consult, and the session hands over."""
        await self.talking()
        view = await self.desk.consult(AGENT, CALL, agency, numbers)
        await self.hand_over()
        return view

    # -- Asterisk's side -----------------------------------------------------------------------
    async def ami_event(self, event: Any, after: float = 1.0) -> None:
        self.clock.now += after
        self.rooms.handlers[type(event)](event)
        await self.settle()

    async def agency_answers(self, leg: int = 0) -> None:
        await self.ami_event(OriginateResult(f"{CALL}.ag{leg}", True, "4"))

    async def agency_fails(self, reason: str, leg: int = 0) -> None:
        await self.ami_event(OriginateResult(f"{CALL}.ag{leg}", False, reason))

    async def agency_hangs_up(self, leg: int = 0) -> None:
        await self.ami_event(Hangup(f"{CALL}.ag{leg}", f"Local/{W1}@hotline-agency-0000000{leg};1", "16"))

    async def citizen_hangs_up(self) -> None:
        await self.ami_event(Hangup(CALL, CITIZEN, "16"))

    async def taker_hangs_up(self) -> None:
        await self.ami_event(Hangup(TAKER_UNIQUEID, TAKER, "16"))

    async def settle(self) -> None:
        """Let every task the handlers spawned run to its end; none may fail."""
        for _ in range(200):
            if not len(self.tasks):
                break
            await asyncio.sleep(0)
        else:
            raise AssertionError(f"{len(self.tasks)} three-party tasks still running")
        failed = [r for r in self.caplog.records if r.levelno >= logging.ERROR]
        assert not failed, [r.getMessage() for r in failed]

    async def step(self, operation: str, *args: Any, after: float = 1.0) -> dict[str, Any]:
        """A desk operation, through the API's ``CallDesk``."""
        self.clock.now += after
        view = await getattr(self.desk, operation)(AGENT, CALL, *args)
        await self.settle()
        return view

    def state(self, call_id: str = CALL) -> str | None:
        view = self.rooms.view(call_id)
        return None if view is None else view["state"]

    def record(self) -> tuple[CallRecord, list[CallEvent]]:
        assert len(self.written) == 1, self.written
        return self.written[0]


@pytest.fixture
async def world(caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    caplog.set_level(logging.INFO)
    w = World(caplog)
    try:
        yield w
    finally:
        await w.tasks.close()


def leg_events(events: list[CallEvent]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.kind == "agency_leg"]


WRAP = (AGENT, POLICY, ANSWERED)


# -- the fake is the real client's shape ----------------------------------------------------


def test_the_fake_ami_offers_what_the_real_client_offers() -> None:
    for name in ("action", "setvar", "hangup", "originate", "redirect"):
        real, fake = inspect.signature(getattr(AmiClient, name)), inspect.signature(getattr(FakeAmi, name))
        assert list(real.parameters) == list(fake.parameters), name
        assert [p.default for p in real.parameters.values()] == [p.default for p in fake.parameters.values()], name


# -- consult, join, leave ----------------------------------------------------------------------


async def test_consult_answered_join_leave_then_the_citizen_hangs_up(world: World) -> None:
    await world.talking()
    view = await world.desk.consult(AGENT, CALL, WATER, (W1, W2))
    assert view["call_id"] == CALL and view["three_party"]["state"] == "consult_dialing"
    assert (view["three_party"]["agency_id"], view["three_party"]["number"]) == (WATER, W1)
    # ONE Redirect moves both out of the session's Dial (citizen to music, call taker into the
    # room), then the agency's leg is originated into the room under our ChannelId.
    assert world.ami.new() == [*first_move("hold"), dial(W1, 0)]
    assert len(world.ami.redirects()) == 1
    await world.hand_over()
    consulted_at = world.clock.now

    await world.agency_answers()
    assert world.state() == "consulting" and world.ami.new() == []
    joined = await world.step("join")
    assert joined["three_party"]["state"] == "conference"
    assert world.ami.new() == citizen_moves("citizen")
    left = await world.step("leave")
    left_at = world.clock.now
    assert left["three_party"]["state"] == "handed_over"
    assert world.ami.new() == [("hangup", TAKER)]          # only the call taker's leg goes
    assert world.wrap_ups == [WRAP]
    assert world.written == []                             # citizen and agency still talk

    await world.taker_hangs_up()                           # the kicked leg's own Hangup: nothing more
    assert world.ami.new() == [] and world.wrap_ups == [WRAP]
    await world.citizen_hangs_up()
    ended_at = world.clock.now
    assert world.ami.new() == [("hangup", f"{CALL}.ag0")]  # the agency leg, by its ChannelId
    await world.agency_hangs_up()                          # that hang-up's own event: late, ignored
    assert world.ami.new() == [] and world.wrap_ups == [WRAP]

    record, events = world.record()
    assert (record.call_id, record.agent_id, record.outcome, record.answered_at) == (CALL, AGENT, "answered",
                                                                                    ANSWERED)
    assert record.ended_at == ended_at
    assert record.attrs["controller"] == "ctl-a"           # the session's attrs are kept
    assert record.attrs["handling"] == "transferred"
    assert record.attrs["agencies"] == [WATER]
    assert record.attrs["who_left_first"] == "agent"
    assert record.attrs["agent_left_at"] == left_at
    assert record.attrs["three_party_outcome"] == "finished"
    assert [e.kind for e in events][:2] == ["answered", "three_party_started"]  # the session's events first
    assert leg_events(events) == [{"leg": 0, "agency": WATER, "number": W1, "mode": "consult", "attempt": 1,
                                   "dialled_at": consulted_at, "answered_at": consulted_at + 1,
                                   "ended_at": ended_at, "end": "hung_up_by_citizen"}]
    assert world.rooms.rooms == {} and world.rooms.view(CALL) is None


async def test_complete_transfer_hands_the_citizen_to_the_agency(world: World) -> None:
    await world.consult()
    world.ami.new()
    await world.agency_answers()
    view = await world.step("complete_transfer")
    assert view["three_party"]["state"] == "handed_over"
    assert world.ami.new() == [*citizen_moves("citizen"), ("hangup", TAKER)]
    assert world.wrap_ups == [WRAP]
    await world.agency_hangs_up()                          # the agency ends it: the citizen is alone
    assert world.ami.new() == [("hangup", CITIZEN)]
    record, events = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("transferred", "agent")
    assert [leg["end"] for leg in leg_events(events)] == ["hung_up_by_agency"]
    assert world.wrap_ups == [WRAP]


# -- the agency is not reached ------------------------------------------------------------------


async def test_agency_busy_dials_the_next_directory_number_then_answers(world: World) -> None:
    await world.consult(WATER, (W1, W2))
    world.ami.new()
    await world.agency_fails("5")                          # busy
    assert world.state() == "consult_dialing"
    assert world.ami.new() == [dial(W2, 1)]                # nobody moved, nobody hung up
    assert world.notices() == [("busy", W2)]
    assert world.rooms.view(CALL)["number"] == W2
    await world.agency_answers(leg=1)
    assert world.state() == "consulting" and world.ami.new() == []

    await world.step("cancel")
    assert world.ami.new() == [("hangup", f"{CALL}.ag1"), *citizen_moves("citizen")]
    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", TAKER)]
    assert world.wrap_ups == [WRAP]
    record, events = world.record()
    # rule 7: the answered agency the call taker dropped (the cancel) left first
    assert record.attrs["handling"] == "consulted" and record.attrs["who_left_first"] == "agency"
    assert [(leg["leg"], leg["number"], leg["attempt"], leg["end"]) for leg in leg_events(events)] == [
        (0, W1, 1, "busy"), (1, W2, 2, "hung_up_by_agent")]


@pytest.mark.parametrize(("code", "reason"), [("3", "no_answer"), ("5", "busy"), ("8", "unreachable"),
                                              ("1", "no_answer")])
async def test_agency_not_reached_on_its_only_number_brings_the_citizen_back(world: World, code: str,
                                                                             reason: str) -> None:
    await world.consult(WATER, (W1,))
    world.ami.new()
    await world.agency_fails(code)
    assert world.state() == "two_party"
    assert world.ami.new() == citizen_moves("citizen")    # back into the room with the call taker
    assert not [c for c in world.ami.calls if c[0] == "hangup"]  # nobody is hung up
    assert world.notices() == [(reason, "")]
    assert world.wrap_ups == [] and world.written == []

    await world.citizen_hangs_up()                         # the call goes on, then ends as a plain call
    assert world.ami.new() == [("hangup", TAKER)]
    assert world.wrap_ups == [WRAP]
    record, events = world.record()
    assert record.attrs["handling"] == "direct"
    assert [leg["end"] for leg in leg_events(events)] == [reason]


# -- cancel, hang-ups mid-consult ------------------------------------------------------------------


@pytest.mark.parametrize(("answered", "end"), [(False, "cancelled"), (True, "hung_up_by_agent")])
async def test_cancel_of_a_consult_hangs_up_the_agency_leg_and_brings_the_citizen_back(
        world: World, answered: bool, end: str) -> None:
    await world.consult()
    world.ami.new()
    if answered:
        await world.agency_answers()
    view = await world.step("cancel")
    assert view["three_party"]["state"] == "two_party"
    assert world.ami.new() == [("hangup", f"{CALL}.ag0"), *citizen_moves("citizen")]
    await world.agency_hangs_up()                          # our own hang-up, reported: late
    await world.agency_fails("1")                          # the ringing leg's OriginateResponse: late too
    assert world.ami.new() == [] and world.state() == "two_party" and world.notices() == []

    await world.taker_hangs_up()                           # the call taker ends the plain call
    assert world.ami.new() == [("hangup", CITIZEN)]
    assert world.wrap_ups == [WRAP]
    record, events = world.record()
    assert record.attrs["handling"] == ("consulted" if answered else "direct")
    assert record.attrs["who_left_first"] == ("agency" if answered else "agent")  # an agency never reached never joined
    assert [leg["end"] for leg in leg_events(events)] == [end]


async def test_citizen_hanging_up_during_a_consult_leaves_the_call_taker_with_the_agency(world: World) -> None:
    await world.consult()
    world.ami.new()
    await world.agency_answers()
    await world.citizen_hangs_up()
    citizen_left = world.clock.now
    assert world.state() == "consulting"
    assert world.ami.new() == []                           # the call taker and the agency talk on
    assert world.notices() == [("citizen_hung_up", "")]
    assert world.wrap_ups == [] and world.written == []
    await world.citizen_hangs_up()                         # a duplicate: nothing
    assert world.ami.new() == [] and world.notices() == [("citizen_hung_up", "")]
    with pytest.raises(IllegalOperation, match="citizen has hung up"):
        await world.step("join")

    view = await world.step("leave")
    assert view["three_party"] is None                     # the legs ended, the record is written
    assert world.ami.new() == [("hangup", f"{CALL}.ag0"), ("hangup", TAKER)]
    assert world.wrap_ups == [WRAP]
    record, events = world.record()
    assert record.ended_at == citizen_left
    assert record.attrs["who_left_first"] == "citizen" and record.attrs["handling"] == "consulted"
    assert [leg["end"] for leg in leg_events(events)] == ["hung_up_by_agent"]  # the Leave ended it
    await world.taker_hangs_up()
    await world.agency_hangs_up()
    assert world.ami.new() == [] and len(world.written) == 1 and world.wrap_ups == [WRAP]


async def test_call_taker_hanging_up_while_the_agency_rings_is_a_blind_transfer(world: World) -> None:
    await world.consult()
    world.ami.new()
    await world.taker_hangs_up()
    assert world.state() == "blind_dialing"
    assert world.ami.new() == [] and world.wrap_ups == []  # held in reserve, not yet released
    await world.agency_answers()
    assert world.state() == "handed_over"
    assert world.ami.new() == citizen_moves("citizen")
    assert world.wrap_ups == [WRAP]


# -- the conference ---------------------------------------------------------------------------------


async def conference(world: World) -> None:
    await world.consult()
    await world.agency_answers()
    await world.step("join")
    world.ami.new()
    assert world.state() == "conference"


async def test_agency_hanging_up_in_the_conference_leaves_citizen_and_call_taker(world: World) -> None:
    await conference(world)
    await world.agency_hangs_up()
    assert world.state() == "two_party"
    assert world.ami.new() == []                           # citizen and call taker are in the room already
    assert world.notices() == [("agency_hung_up", "")]
    assert world.wrap_ups == []
    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", TAKER)]
    assert world.wrap_ups == [WRAP]
    record, events = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("three_party", "agency")
    assert [leg["end"] for leg in leg_events(events)] == ["hung_up_by_agency"]


async def test_call_taker_hanging_up_in_the_conference_is_a_leave(world: World) -> None:
    await conference(world)
    await world.taker_hangs_up()
    assert world.state() == "handed_over"
    assert world.ami.new() == []                           # the leg is gone already: nothing to kick
    assert world.wrap_ups == [WRAP]
    await world.taker_hangs_up()                           # a duplicate Hangup
    assert world.ami.new() == [] and world.wrap_ups == [WRAP]
    with pytest.raises(IllegalOperation, match="handed_over"):
        await world.step("leave")
    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", f"{CALL}.ag0")]
    assert world.wrap_ups == [WRAP]
    record, _ = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("transferred", "agent")


async def test_the_call_taker_drops_the_agency_from_the_conference(world: World) -> None:
    await conference(world)
    view = await world.step("hangup_agency")
    assert view["three_party"]["state"] == "two_party"
    assert world.ami.new() == [("hangup", f"{CALL}.ag0")]
    await world.agency_hangs_up()
    assert world.ami.new() == [] and world.notices() == []


# -- blind transfer -----------------------------------------------------------------------------------


async def blind(world: World) -> None:
    await world.talking()
    view = await world.desk.transfer(AGENT, CALL, WATER, (W1,), "blind")
    assert view["three_party"]["state"] == "blind_dialing"
    # citizen to music and the call taker out of the Dial in ONE Redirect, the call taker's leg
    # hung up, the agency dialled
    assert world.ami.new() == [*first_move("hold"), ("hangup", TAKER), dial(W1, 0)]
    await world.hand_over()
    await world.taker_hangs_up()                           # the kicked leg's Hangup: no event for the legs
    assert world.ami.new() == [] and world.state() == "blind_dialing" and world.wrap_ups == []


async def test_blind_transfer_answered_hands_the_citizen_over(world: World) -> None:
    await blind(world)
    await world.agency_answers()
    assert world.state() == "handed_over"
    assert world.ami.new() == citizen_moves("citizen")
    assert world.wrap_ups == [WRAP]
    await world.agency_hangs_up()
    assert world.ami.new() == [("hangup", CITIZEN)]
    record, events = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("transferred", "agent")
    assert [(leg["mode"], leg["end"]) for leg in leg_events(events)] == [("blind", "hung_up_by_agency")]
    assert world.wrap_ups == [WRAP]


async def test_blind_transfer_failed_rings_the_call_taker_back_who_answers(world: World) -> None:
    await blind(world)
    await world.agency_fails("3")
    assert world.state() == "agent_recalling"
    assert world.ami.new() == [RING_BACK]                  # the call taker's phone, into the room
    assert world.wrap_ups == []
    await world.ami_event(OriginateResult(f"{CALL}.back", True, "4"))
    assert world.state() == "two_party"
    assert world.ami.new() == citizen_moves("citizen")    # off music, back with the call taker
    assert world.notices() == [("no_answer", "")]
    assert world.wrap_ups == []

    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", f"{CALL}.back")]  # the rung-back leg is the call taker's now
    assert world.wrap_ups == [WRAP]
    await world.ami_event(Hangup(f"{CALL}.back", f"PJSIP/{AGENT}-0000002f", "16"))
    assert world.ami.new() == [] and world.wrap_ups == [WRAP]
    record, _ = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("direct", "citizen")


async def test_blind_transfer_failed_and_the_call_taker_unreachable_requeues_the_citizen(world: World) -> None:
    await blind(world)
    await world.agency_fails("5")
    world.ami.new()
    await world.ami_event(Hangup(f"{CALL}.back", f"PJSIP/{AGENT}-00000030", "19"))  # the ring-back's leg
    assert world.state() == "agent_recalling"
    await world.ami_event(OriginateResult(f"{CALL}.back", False, "3"))
    assert world.ami.new() == [("redirect", CITIZEN, "hotline-resume", "s", 1)]
    assert world.wrap_ups == [WRAP]
    record, _ = world.record()
    assert record.attrs["three_party_outcome"] == "requeued"


# -- late and duplicate events ---------------------------------------------------------------------


async def test_late_and_duplicate_events_change_nothing_and_raise_nothing(world: World) -> None:
    await world.consult()
    world.ami.new()
    await world.agency_hangs_up()                          # a ringing leg's Hangup before its OriginateResponse
    assert world.state() == "consult_dialing" and world.ami.new() == []
    await world.agency_fails("5")
    assert world.state() == "consult_dialing" and world.ami.new() == [dial(W2, 1)]
    await world.agency_fails("5", leg=0)                   # a duplicate OriginateResponse for leg 0
    await world.agency_answers(leg=0)                      # and a contradictory one: leg 0 is over
    assert world.state() == "consult_dialing" and world.ami.new() == []
    await world.agency_answers(leg=1)
    await world.agency_answers(leg=1)                      # a duplicate answer
    assert world.state() == "consulting" and world.ami.new() == []
    await world.ami_event(OriginateResult("1800000000.99", True, "4"))  # some other Originate
    await world.ami_event(Hangup("1800000000.98", "PJSIP/2009-00000031", "16"))  # some other channel
    assert world.state() == "consulting" and world.ami.new() == []

    await world.step("complete_transfer")
    world.ami.new()
    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", f"{CALL}.ag1")] and len(world.written) == 1
    for late in (world.citizen_hangs_up, world.taker_hangs_up, world.agency_hangs_up, world.agency_answers):
        await late()
    await world.agency_hangs_up(leg=1)
    assert world.ami.new() == [] and len(world.written) == 1 and world.wrap_ups == [WRAP]
    assert len(world.tasks) == 0


async def test_a_citizen_hanging_up_before_the_session_handed_over_is_written_at_the_hand_over(
        world: World) -> None:
    await world.talking()
    await world.desk.consult(AGENT, CALL, WATER, (W1,))
    await world.citizen_hangs_up()
    await world.agency_fails("3")                          # citizen gone, agency not reached: the end
    assert world.state() == "ended" and world.written == []  # no record yet to write
    assert world.wrap_ups == [WRAP]
    await world.hand_over()                                # the session's AGI round trip ends now
    record, events = world.record()
    assert record.attrs["who_left_first"] == "citizen"
    assert [leg["end"] for leg in leg_events(events)] == ["no_answer"]


# -- the desk's errors --------------------------------------------------------------------------------


async def test_an_operation_from_the_wrong_state_is_an_illegal_operation_naming_the_state(world: World) -> None:
    await world.talking()
    with pytest.raises(IllegalOperation, match="illegal in state two_party") as refused:
        await world.desk.join(AGENT, CALL)
    assert refused.value.error_id == "illegal_in_state"
    assert world.ami.calls == []
    await world.desk.consult(AGENT, CALL, WATER, (W1,))
    await world.hand_over()
    world.ami.new()
    with pytest.raises(IllegalOperation, match="illegal in state consult_dialing.*not answered yet"):
        await world.desk.complete_transfer(AGENT, CALL)
    with pytest.raises(IllegalOperation, match="illegal in state consult_dialing"):
        await world.desk.conference(AGENT, CALL, WATER, (W1,))
    await world.agency_answers()
    with pytest.raises(IllegalOperation, match="illegal in state consulting.*CompleteTransfer") as refused:
        await world.desk.leave(AGENT, CALL)
    assert refused.value.error_id == "illegal_in_state"
    await world.settle()
    assert world.ami.new() == [] and world.state() == "consulting"


async def test_an_operation_on_another_agents_call_is_not_your_call(world: World) -> None:
    await world.talking()
    await world.talking("1800000000.50", "2002", "PJSIP/trunk-00000032", "PJSIP/2002-00000033")
    with pytest.raises(NotYourCall):
        await world.desk.consult("2002", CALL, WATER, (W1,))
    await world.desk.consult(AGENT, CALL, WATER, (W1,))
    await world.hand_over()
    world.ami.new()
    with pytest.raises(NotYourCall):
        await world.desk.cancel("2002", CALL)
    assert world.ami.new() == [] and world.state() == "consult_dialing"


async def test_a_call_held_by_no_session_here_is_not_here(world: World) -> None:
    # the agent's live record names a call this controller has no session for
    await world.live.put_agent(AgentRecord(AGENT, AgentState.ON_CALL, since=ANSWERED, call_id=CALL))
    with pytest.raises(IllegalOperation) as refused:
        await world.desk.consult(AGENT, CALL, WATER, (W1,))
    assert refused.value.error_id == "not_here"
    track = world.registry.register(CALL)                  # a session here, but the call is not talking
    track.citizen_channel = CITIZEN
    with pytest.raises(IllegalOperation) as refused:
        await world.desk.consult(AGENT, CALL, WATER, (W1,))
    assert refused.value.error_id == "not_here"
    assert world.ami.calls == [] and world.rooms.rooms == {}


async def test_an_agent_with_no_call_has_no_current_call(world: World) -> None:
    await world.live.put_agent(AgentRecord(AGENT, AgentState.AVAILABLE, since=ANSWERED))
    assert await world.desk.current_call(AGENT) is None
    with pytest.raises(NoCurrentCall):
        await world.desk.consult(AGENT, CALL, WATER, (W1,))


# -- regressions of bugs fixed while this file was written ---------------------------------------


async def test_a_conference_straight_away_moves_citizen_and_call_taker_into_the_room(world: World) -> None:
    await world.talking()
    view = await world.desk.conference(AGENT, CALL, WATER, (W1,))
    assert view["three_party"]["state"] == "conference_dialing"
    # both out of the session's Dial into the room, in ONE Redirect, before the agency is dialled
    assert world.ami.new() == [*first_move("citizen"), dial(W1, 0)]
    await world.hand_over()                                # holds(): the session hands its record over
    await world.agency_answers()
    assert world.state() == "conference" and world.ami.new() == []
    await world.step("leave")
    assert world.ami.new() == [("hangup", TAKER)] and world.wrap_ups == [WRAP]
    await world.citizen_hangs_up()
    assert world.ami.new() == [("hangup", f"{CALL}.ag0")]
    record, events = world.record()
    assert (record.attrs["handling"], record.attrs["who_left_first"]) == ("transferred", "agent")
    assert [leg["mode"] for leg in leg_events(events)] == ["conference"]


async def test_after_a_hand_over_the_agents_next_call_is_their_current_call(world: World) -> None:
    await world.consult()
    await world.agency_answers()
    await world.step("complete_transfer")
    assert world.state() == "handed_over" and world.wrap_ups == [WRAP]
    nxt = "1800000000.60"                                  # citizen and agency still talk on CALL
    await world.talking(nxt, AGENT, "PJSIP/trunk-00000040", "PJSIP/2001-00000041")
    current = await world.desk.current_call(AGENT)
    assert current is not None and current["call_id"] == nxt and current["three_party"] is None
    view = await world.desk.consult(AGENT, nxt, WATER, (W1,))
    assert view["three_party"]["state"] == "consult_dialing"


async def test_a_follow_up_call_put_through_shows_its_case_on_the_desk(world: World) -> None:
    """The session saves the case of a follow-up try's channel in the screen (sessions/call.py
    ``_screen``); the desk's view of the call gives it to the call taker, who records the answer."""
    fu = "fu1800000000000-1-20261130-0042"
    await world.talking(fu)
    await world.live.save_call("ctl-a", {"call_id": fu, "screen": json.dumps(
        {"ivr_path": [], "repeat_calls": 1, "follow_up_case": "20261130-0042"})})
    current = await world.desk.current_call(AGENT)
    assert current is not None and (current["call_id"], current["follow_up_case"]) == (fu, "20261130-0042")
    await world.talking()                                  # any other call: no case
    current = await world.desk.current_call(AGENT)
    assert current is not None and current["follow_up_case"] is None


async def test_a_call_taker_held_for_a_blind_transfer_still_has_the_call(world: World) -> None:
    await blind(world)
    await world.live.put_agent(AgentRecord(AGENT, AgentState.ON_CALL, since=ANSWERED))  # the record lost its call
    current = await world.desk.current_call(AGENT)
    assert current is not None and current["call_id"] == CALL
    assert current["three_party"]["state"] == "blind_dialing"


# -- bugs found while writing these tests, fixed: each stays as a regression test ------------------




async def test_a_refused_operation_on_a_plain_call_leaves_nothing_behind(world: World) -> None:
    await world.talking()
    with pytest.raises(IllegalOperation):
        await world.desk.join(AGENT, CALL)
    # the call is still the session's: when the call taker hangs up first, the citizen stays with
    # the session (Dial's g: the survey) and the session, not the room, wraps the agent up
    await world.taker_hangs_up()
    assert world.ami.calls == []
    assert world.wrap_ups == []
    assert world.rooms.view(CALL) is None


async def test_a_refused_consult_does_not_change_the_agency_being_dialled(world: World) -> None:
    await world.consult(WATER, (W1, W2))
    world.ami.new()
    with pytest.raises(IllegalOperation, match="consult_dialing"):
        await world.desk.consult(AGENT, CALL, POLICE, (P1,))
    assert world.rooms.view(CALL)["agency_id"] == WATER
    await world.agency_fails("5")
    assert world.ami.new() == [dial(W2, 1)]                # water's next number, not the police's


async def test_a_second_consult_of_the_same_agency_fails_over_to_its_next_number_again(world: World) -> None:
    await world.consult(WATER, (W1, W2))
    await world.agency_fails("5")
    await world.agency_answers(leg=1)
    await world.step("cancel")
    await world.step("consult", WATER, (W1, W2))
    world.ami.new()
    await world.agency_fails("5", leg=2)
    assert world.state() == "consult_dialing"
    assert world.ami.new() == [dial(W2, 3)]


async def test_the_record_keeps_every_three_party_step(world: World) -> None:
    await world.consult()
    await world.agency_answers()
    await world.step("join")
    await world.step("leave")
    await world.citizen_hangs_up()
    _, events = world.record()
    assert [e.data["event"] for e in events if e.kind == "three_party"] == [
        "Consult", "AgencyAnswered", "Join", "Leave", "CitizenHungUp"]
