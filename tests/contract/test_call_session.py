"""CallSession's paths without Asterisk: a scripted FastAGI channel (tests/contract/fake_agi.py,
the real AgiChannel over a scripted peer), the in-memory live state (fake_live.py, the same
port as Redis), the real router, offer book, registry and agent service, and AMI events
delivered through the registry exactly as the AMI client hands them over.

Each test runs in milliseconds and asserts the AGI commands sent, the stored record, the
call's state machine and the agent's live record. The real-Asterisk tests in
tests/integration keep the end-to-end proofs.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Iterable

import pytest

import calls
from acd import QueuePolicy
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from calls.records import CallEvent, CallRecord
from hotline.asterisk.ami_events import DialBegin, DialEnd
from hotline.config import ConfigHolder, HotlineConfig
from hotline.live.agent_service import AgentService
from hotline.routing.router import RouterService
from hotline.sessions.call import CallSession, SessionDeps
from hotline.sessions.registry import CallRegistry
from hotline.settings import PROJECT_ROOT
from hotline.tasks import TaskOwner
from ivr import load_flows
from outbound import load_number_policy
from tests.contract.fake_agi import OK, FakeAgiChannel, Step, pressed, variable
from tests.contract.fake_live import InMemoryLiveState

NOW = 1_800_000_000.0
CALL_ID = "1800000000.7"
QUEUES = {"main": QueuePolicy("main", ring_timeout=5, wrapup_seconds=3, max_misses_before_pause=2)}
ANNOUNCING = QueuePolicy("main", announce_interval=1, callback_offer_after=0)  # offers a callback at once


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Records:
    """The record sink: what the session would write to the database."""

    def __init__(self) -> None:
        self.written: list[tuple[CallRecord, list[CallEvent]]] = []

    async def write(self, record: CallRecord, events: Iterable[CallEvent]) -> bool:
        self.written.append((record, list(events)))
        return True


class Facts:
    async def repeat_calls(self, caller: str, now: float) -> int:
        return 0

    async def flags(self) -> dict[str, str]:
        return {}

    async def waiting_figures(self, call: Any) -> tuple[int, int]:
        return 0, 1


class Media:
    def prompt_path(self, name: str, language: str) -> str:
        return f"/sounds/{language}/{name}"

    def recording_path(self, call_id: str) -> str:
        return f"/recordings/{call_id}.wav"


class Rig:
    """One controller's session wiring over in-memory parts."""

    def __init__(self, agents: Iterable[str] = ("2001", "2002"), queue: QueuePolicy = QUEUES["main"]) -> None:
        self.clock = Clock()
        self.live = InMemoryLiveState(self.clock)
        self.tasks = TaskOwner("test")
        roster = {a: RosterAgent(a, a, frozenset({"zh"}), ()) for a in agents}
        flows = load_flows(PROJECT_ROOT / "ivr" / "flows")
        numbers = load_number_policy(PROJECT_ROOT / "outbound" / "citizen_numbers.yaml")
        self.config = ConfigHolder(HotlineConfig(roster, {"main": queue}, flows, numbers))
        self.agents = AgentService(self.live, self.clock)
        self.hung_up: list[str] = []
        self.placed: list[tuple[str, str]] = []
        self.registry = CallRegistry(self.clock, self.tasks, hang_up=self._hang_up,
                                     agent_answered=self.agents.answered, orphan=self._orphan)
        self.router = RouterService("me", self.clock, self.live, self.config, self.agents, self.tasks,
                                    self.registry.deliver)
        self.records = Records()
        self.deps = SessionDeps("me", self.clock, self.config, self.live, self.router, self.registry,
                                self.registry, self.agents, Facts(), Media(), self.records, self.tasks,
                                self._place, callbacks_enabled=True)

    async def _hang_up(self, channel: str) -> None:
        self.hung_up.append(channel)

    async def _orphan(self, call_id: str, agent_id: str) -> None:
        await self._place(call_id, agent_id)

    async def _place(self, call_id: str, agent_id: str) -> None:
        self.placed.append((call_id, agent_id))

    async def on_shift(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            await self.agents.log_in(agent_id)
        assert await self.router.lead()
        await self.router.step()  # the leader's picture: nobody waiting, these agents free

    def answer(self, agent_id: str, status: str = "ANSWER") -> Step:
        """The Dial to ``agent_id``: DialBegin, then DialEnd with ``status``, while it runs."""
        async def events() -> None:
            leg = f"PJSIP/{agent_id}-00000001"
            self.registry.on_ami_event(DialBegin(CALL_ID, "leg-1", leg))
            await asyncio.sleep(0.03)  # the offer's bookkeeping waits for DialBegin (at most 20 ms)
            self.clock.now += 4
            self.registry.on_ami_event(DialEnd(CALL_ID, "leg-1", leg, status))
        return Step(f'EXEC "Dial" "PJSIP/{agent_id},5,*"', OK, before=events)

    async def agent(self, agent_id: str) -> AgentRecord:
        record = await self.live.agent(agent_id)
        assert record is not None
        return record

    def session(self, channel: FakeAgiChannel) -> CallSession:
        return CallSession(self.deps, channel)

    @property
    def record(self) -> CallRecord:
        assert len(self.records.written) == 1, self.records.written
        return self.records.written[0][0]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.records.written[0][1]]


GREETING = ('STREAM FILE "/sounds/zh/welcome" ""', OK)
DONE = ('SET VARIABLE "HOTLINE_DONE" "1"', "200 result=1")
SURVEY_PRESS_1 = [('STREAM FILE "/sounds/zh/survey_question" "0123456789*#"', pressed("1")),
                  ('STREAM FILE "/sounds/zh/survey_thanks" ""', OK)]


def channel(script: list[Any], **kwargs: Any) -> FakeAgiChannel:
    return FakeAgiChannel(script, uniqueid=CALL_ID, caller="13800000001", dnis="12349", args=["12349"], **kwargs)


async def test_a_call_to_an_idle_agent_is_answered_surveyed_and_stored(tmp_path: Path) -> None:
    rig = Rig()
    await rig.on_shift("2001")
    fake = channel([("ANSWER", OK), GREETING, rig.answer("2001"),
                    ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")), *SURVEY_PRESS_1, DONE])
    session = rig.session(fake)
    await session.run()
    fake.assert_done()
    assert (rig.record.outcome, rig.record.agent_id) == ("answered", "2001")
    assert rig.record.attrs["satisfaction"] == "satisfied"
    assert session.call.state is calls.CallState.ENDED and session.call.outcome is calls.Outcome.ANSWERED
    assert session.call.answered_by == "2001"
    assert (await rig.agent("2001")).state is AgentState.WRAP_UP
    assert rig.kinds()[0] == "arrived" and "offered" in rig.kinds() and rig.kinds()[-1] == "ended"
    await rig.tasks.close()


async def test_a_follow_up_try_put_through_names_its_case_in_the_screen_pop() -> None:
    """The follow-up try's channel (its id from cases.followup.call_id_of) came into the
    hotline: the screen saved for the desk names the case; any other call's does not."""
    rig = Rig()
    fu = FakeAgiChannel([], uniqueid="fu1800000000000-1-20261130-0042", caller="13800000001", dnis="12349",
                        args=["12349"])
    assert json.loads(rig.session(fu)._screen())["follow_up_case"] == "20261130-0042"
    assert "follow_up_case" not in json.loads(rig.session(channel([]))._screen())


async def test_ring_no_answer_counts_a_miss_and_the_call_goes_to_the_next_agent() -> None:
    rig = Rig()
    await rig.on_shift("2001", "2002")

    async def route_again() -> None:
        await rig.router.step()  # the leader routes the requeued call: 2001 is excluded

    fake = channel([("ANSWER", OK), GREETING, rig.answer("2001", "NOANSWER"),
                    ('GET VARIABLE "DIALSTATUS"', variable("NOANSWER")),
                    Step('SET MUSIC "on" "default"', OK, before=route_again),
                    rig.answer("2002"), ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")), *SURVEY_PRESS_1, DONE])
    session = rig.session(fake)
    await session.run()
    fake.assert_done()
    assert (rig.record.outcome, rig.record.agent_id) == ("answered", "2002")
    assert "rona" in rig.kinds()
    assert session.call.misses == 1 and "2001" in session.call.excluded
    assert (await rig.agent("2001")).misses == 1
    await rig.tasks.close()


async def test_a_caller_who_hangs_up_while_the_agent_rings_frees_the_agent() -> None:
    rig = Rig()
    await rig.on_shift("2001")
    fake = channel([("ANSWER", OK), GREETING, rig.answer("2001", "CANCEL"),
                    ('GET VARIABLE "DIALSTATUS"', variable("CANCEL")), DONE], hang_up_at=3)
    session = rig.session(fake)
    await session.run()
    assert rig.record.outcome == "abandoned"
    assert session.call.outcome is calls.Outcome.ABANDONED
    assert (await rig.agent("2001")).state is AgentState.AVAILABLE
    assert fake.sent[-1] == 'SET VARIABLE "HOTLINE_DONE" "1"'
    await rig.tasks.close()


async def test_a_session_that_fails_before_an_answer_leaves_the_call_to_the_fallback() -> None:
    rig = Rig()
    await rig.on_shift()  # nobody on shift: the call is queued

    async def lose_redis(call: Any) -> None:
        raise ConnectionError("Redis went away")

    rig.live.enqueue = lose_redis  # type: ignore[method-assign]
    rig.live.enqueue_and_read = lose_redis  # type: ignore[method-assign,assignment]
    fake = channel([("ANSWER", OK), GREETING, ('SET MUSIC "on" "default"', OK)])
    session = rig.session(fake)
    await session.run()
    fake.assert_done()
    assert 'SET VARIABLE "HOTLINE_DONE" "1"' not in fake.sent  # the dialplan's app_queue takes the caller
    assert rig.records.written == []  # the fallback call is stored from queue_log instead
    assert session.call.outcome is calls.Outcome.FALLBACK
    await rig.tasks.close()


async def test_a_session_that_fails_after_the_answer_never_sends_the_citizen_to_the_fallback() -> None:
    """Served once: a failure in the survey after a conversation ends the call here, marked
    done, with its record; the dialplan must not queue the citizen for a second agent."""
    rig = Rig()
    await rig.on_shift("2001")
    fake = channel([("ANSWER", OK), GREETING, rig.answer("2001"), ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")),
                    ('STREAM FILE "/sounds/zh/survey_question" "0123456789*#"', "garbage, not AGI"), DONE])
    session = rig.session(fake)
    await session.run()
    fake.assert_done()
    assert fake.sent[-1] == 'SET VARIABLE "HOTLINE_DONE" "1"'
    assert (rig.record.outcome, rig.record.agent_id) == ("answered", "2001")
    await rig.tasks.close()


async def test_a_waiting_caller_who_books_a_callback_keeps_the_place_in_line() -> None:
    rig = Rig(queue=ANNOUNCING)
    await rig.on_shift()

    async def later() -> None:
        rig.clock.now += 2  # the announcement falls due

    fake = channel([("ANSWER", OK), GREETING, Step('SET MUSIC "on" "default"', OK, before=later),
                    ('SET MUSIC "off"', OK), ('STREAM FILE "/sounds/zh/ahead_0" ""', OK),
                    ('STREAM FILE "/sounds/zh/wait_1" ""', OK),
                    ('STREAM FILE "/sounds/zh/callback_offer" "0123456789*#"', pressed("1")),
                    ('STREAM FILE "/sounds/zh/callback_confirmed" ""', OK), ("HANGUP", "200 result=1"), DONE])
    session = rig.session(fake)
    await session.run()
    fake.assert_done()
    assert rig.record.outcome == "callback_requested"
    assert session.call.state is calls.CallState.CALLBACK_WAITING
    waiting = await rig.live.call(CALL_ID)
    assert waiting is not None and waiting.callback  # still in line, as a callback request
    await rig.tasks.close()


async def test_an_international_caller_hears_why_no_callback_and_pressing_1_books_nothing() -> None:
    rig = Rig(queue=ANNOUNCING)
    await rig.on_shift()

    async def later() -> None:
        rig.clock.now += 2

    fake = FakeAgiChannel([("ANSWER", OK), GREETING, Step('SET MUSIC "on" "default"', OK, before=later),
                           ('SET MUSIC "off"', OK), ('STREAM FILE "/sounds/zh/ahead_0" ""', OK),
                           ('STREAM FILE "/sounds/zh/wait_1" ""', OK),
                           ('STREAM FILE "/sounds/zh/callback_unavailable" ""', OK),
                           ('SET MUSIC "on" "default"', OK), ("CHANNEL STATUS", "200 result=6")],
                          hang_up_at=8, uniqueid=CALL_ID, caller="0044909879001", dnis="12349", args=["12349"])
    session = rig.session(fake)
    await session.run()
    assert rig.record.outcome == "abandoned"
    assert "callback_refused" in rig.kinds() and "callback_booked" not in rig.kinds()
    assert session.call.callback_offer is calls.CallbackOffer.REFUSED
    await rig.tasks.close()


@pytest.mark.parametrize("status", ["BUSY", "CHANUNAVAIL"])
async def test_a_fast_offer_whose_agent_is_not_free_after_all_withdraws_the_ring(status: str) -> None:
    """The leader's mirror said 2001 was free; Redis says otherwise (a change not heard of
    yet): the claim fails, the ring is withdrawn and the call waits in line."""
    rig = Rig()
    await rig.on_shift("2001")
    await rig.live.put_agent(AgentRecord("2001", AgentState.PAUSED, since=NOW, pause_reason="lunch"))

    async def ring() -> None:
        rig.registry.on_ami_event(DialBegin(CALL_ID, "leg-9", "PJSIP/2001-00000009"))
        await asyncio.sleep(0.05)
        rig.registry.on_ami_event(DialEnd(CALL_ID, "leg-9", "PJSIP/2001-00000009", status))

    fake = channel([("ANSWER", OK), GREETING, Step('EXEC "Dial" "PJSIP/2001,5,*"', OK, before=ring),
                    ('GET VARIABLE "DIALSTATUS"', variable(status)), ('SET MUSIC "on" "default"', OK),
                    ("CHANNEL STATUS", "200 result=6")], hang_up_at=5)
    session = rig.session(fake)
    await session.run()
    assert rig.hung_up == ["PJSIP/2001-00000009"]  # the ring was withdrawn
    assert "withdrawn" in rig.kinds()
    assert rig.record.outcome == "abandoned"
    assert (await rig.agent("2001")).state is AgentState.PAUSED  # not counted as a miss
    await rig.tasks.close()


async def test_a_call_lost_with_redis_is_queued_again_at_its_place() -> None:
    rig = Rig()
    await rig.on_shift()  # nobody free: the call waits

    async def redis_comes_back_empty() -> None:
        await asyncio.sleep(0.01)  # the session is waiting in line by now
        await rig.live.remove_call(CALL_ID)  # what an emptied Redis looks like to this call
        rig.registry.resync()
        for _ in range(20):  # the session puts the call back
            await asyncio.sleep(0.01)
            if await rig.live.call(CALL_ID) is not None:
                break
        await rig.agents.log_in("2001")
        await rig.router.step()

    fake = channel([("ANSWER", OK), GREETING, ('SET MUSIC "on" "default"', OK),
                    rig.answer("2001"), ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")), *SURVEY_PRESS_1, DONE])
    session = rig.session(fake)
    await asyncio.gather(session.run(), redis_comes_back_empty())
    fake.assert_done()
    assert "requeued_after_redis_loss" in rig.kinds()
    assert (rig.record.outcome, rig.record.agent_id) == ("answered", "2001")
    await rig.tasks.close()


async def test_every_step_is_saved_for_a_survivor_and_dropped_once_the_record_is_written() -> None:
    rig = Rig()
    await rig.on_shift("2001")
    seen: list[str] = []

    async def talking() -> None:
        for _ in range(50):  # the save runs in the background, right after the answer
            await asyncio.sleep(0.001)
            held = await rig.live.held_calls()
            if held and held[0][1]["state"] == "talking":
                break
        (owner, state), = await rig.live.held_calls()
        seen.append(f"{owner} {state['state']} {state['answered_by']}")

    fake = channel([("ANSWER", OK), GREETING, rig.answer("2001"),
                    Step('GET VARIABLE "DIALSTATUS"', variable("ANSWER"), before=talking), *SURVEY_PRESS_1, DONE])
    await rig.session(fake).run()
    fake.assert_done()
    assert seen == ["me talking 2001"]  # what a survivor would have found mid-call
    assert await rig.live.held_calls() == []  # the record is written: nothing left to recover
    await rig.tasks.close()
