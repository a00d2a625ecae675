"""Agents follow their softphones (agents/phones.py, hotline/live/phones.py): a phone that
unregisters or stops answering the probes pauses its agent with the reason, and its return
unpauses them, unless they paused themselves; the desk cannot make them ready meanwhile.
In-memory live state and the real AgentService; the events as Asterisk sends them."""
from __future__ import annotations

import asyncio

import pytest

from agents.phones import RULES, Phone, PhoneAction, action, phone_of
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from hotline.api.live_desk import LiveAgentDesk
from hotline.api.ports import IllegalOperation
from hotline.asterisk.ami_events import ContactChanged, parse_event
from hotline.live.agent_service import AgentService
from hotline.live.phones import PhoneWatch
from hotline.tasks import TaskOwner
from tests.contract.fake_live import InMemoryLiveState

NOW = 1_800_000_000.0
ROSTER = {"2001": RosterAgent("2001", "Soft", frozenset({"zh"}), ()),
          "2002": RosterAgent("2002", "Fixed", frozenset({"zh"}), (), contact="sip:2002@127.0.0.1:6002")}


class World:
    def __init__(self) -> None:
        self.live = InMemoryLiveState(lambda: NOW)
        self.agents = AgentService(self.live, lambda: NOW)
        self.tasks = TaskOwner("t")
        self.devices: dict[str, str] = {}

        async def device_states() -> dict[str, str]:
            return self.devices

        self.watch = PhoneWatch(self.agents, self.live, lambda: ROSTER, self.tasks, device_states)
        self.desk = LiveAgentDesk(self.agents, self.live, lambda: ROSTER.keys(), phone_gone=self.watch.gone)

    async def event(self, aor: str, status: str, uri: str = "") -> None:
        self.watch.handlers[ContactChanged](ContactChanged(aor, status, uri or f"sip:{aor}@127.0.0.1:5062"))
        await asyncio.sleep(0.01)  # the spawned step

    async def state(self, agent_id: str) -> tuple[AgentState, str | None]:
        record = await self.live.agent(agent_id)
        assert record is not None
        return record.state, record.pause_reason


def test_the_rules_table_pauses_only_on_shift_and_unpauses_only_the_phones_pause() -> None:
    for (phone, state), todo in RULES.items():
        assert (todo is PhoneAction.PAUSE) == (phone is not Phone.REACHABLE)
    assert action(AgentRecord("1", AgentState.LOGGED_OUT), Phone.UNREACHABLE) is PhoneAction.NOTHING
    assert action(AgentRecord("1", AgentState.PAUSED, pause_reason="meal"), Phone.UNREACHABLE) is PhoneAction.NOTHING
    assert action(AgentRecord("1", AgentState.PAUSED, pause_reason="meal"), Phone.REACHABLE) is PhoneAction.NOTHING
    assert action(AgentRecord("1", AgentState.PAUSED, pause_reason="phone_unreachable"),
                  Phone.REACHABLE) is PhoneAction.UNPAUSE
    assert action(AgentRecord("1", AgentState.ON_CALL, pause_reason="phone_unreachable"),
                  Phone.UNREACHABLE) is PhoneAction.NOTHING  # already pending
    assert [phone_of(s) for s in ("Created", "Removed", "Unreachable", "Reachable", "Unknown")] == [
        Phone.REACHABLE, Phone.UNREGISTERED, Phone.UNREACHABLE, Phone.REACHABLE, None]


def test_contact_status_is_parsed_from_the_ami_message() -> None:
    msg = {"Event": "ContactStatus", "URI": "sip:2001@127.0.0.1:5062", "ContactStatus": "Unreachable",
           "AOR": "2001", "EndpointName": "2001", "RoundtripUsec": "0"}
    assert parse_event(msg) == ContactChanged("2001", "Unreachable", "sip:2001@127.0.0.1:5062")
    assert parse_event({"Event": "ContactStatus", "AOR": "2001"}) is None  # malformed: ignored, logged


async def test_a_phone_that_stops_answering_pauses_its_agent_and_its_return_unpauses_them() -> None:
    w = World()
    await w.live.put_agent(AgentRecord("2001", since=NOW))
    await w.desk.log_in("2001")
    await w.event("2001", "Unreachable")
    assert await w.state("2001") == (AgentState.PAUSED, "phone_unreachable")
    with pytest.raises(IllegalOperation) as refused:
        await w.desk.ready("2001")
    assert refused.value.error_id == "phone_unreachable"
    await w.event("2001", "Reachable")
    assert await w.state("2001") == (AgentState.AVAILABLE, None)


async def test_an_agent_who_paused_themselves_stays_paused_when_the_phone_comes_back() -> None:
    w = World()
    await w.live.put_agent(AgentRecord("2001", since=NOW))
    await w.desk.log_in("2001")
    await w.desk.pause("2001", "meal")
    await w.event("2001", "Removed")
    assert await w.state("2001") == (AgentState.PAUSED, "meal")
    await w.event("2001", "Created")
    assert await w.state("2001") == (AgentState.PAUSED, "meal")


async def test_logging_in_without_a_registered_phone_logs_in_paused_with_the_reason() -> None:
    w = World()
    await w.live.put_agent(AgentRecord("2001", since=NOW))
    w.devices = {"PJSIP/2001": "UNAVAILABLE", "PJSIP/2002": "UNAVAILABLE"}
    await w.watch.resync()
    record = await w.desk.log_in("2001")
    assert (record.state, record.pause_reason) == (AgentState.PAUSED, "phone_unregistered")
    w.devices = {"PJSIP/2001": "NOT_INUSE"}
    await w.watch.resync()  # e.g. the next AMI login: the phone registered meanwhile
    assert await w.state("2001") == (AgentState.AVAILABLE, None)


async def test_a_seat_with_a_fixed_contact_is_never_watched() -> None:
    w = World()
    await w.live.put_agent(AgentRecord("2002", since=NOW))
    await w.desk.log_in("2002")
    await w.event("2002", "Removed")
    w.devices = {"PJSIP/2002": "UNAVAILABLE"}
    await w.watch.resync()
    assert await w.state("2002") == (AgentState.AVAILABLE, None)
    assert w.watch.gone("2002") is None


async def test_the_old_contact_removed_after_the_new_one_registered_leaves_the_phone_reachable() -> None:
    """remove_existing: a phone registering anew (a restarted softphone) replaces its old
    contact, whose "Removed" comes after the new "Created"."""
    w = World()
    await w.live.put_agent(AgentRecord("2001", since=NOW))
    await w.event("2001", "Created", "sip:2001-new@127.0.0.3:5062")
    await w.event("2001", "Removed", "sip:2001-old@127.0.0.3:5062")
    assert w.watch.gone("2001") is None
    await w.desk.log_in("2001")
    assert await w.state("2001") == (AgentState.AVAILABLE, None)
    await w.event("2001", "Removed", "sip:2001-new@127.0.0.3:5062")
    assert w.watch.gone("2001") == "phone_unregistered"
    assert await w.state("2001") == (AgentState.PAUSED, "phone_unregistered")
