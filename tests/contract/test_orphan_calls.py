"""A survivor finishes the calls of a controller that died (issue 13): a call that was talking
gets its record once its caller's channel ends; one that had not reached an agent is left to
the fallback queue's record; a callback request keeps its place."""
from __future__ import annotations

from typing import Iterable

import calls
from calls.records import CallEvent, CallRecord
from hotline.sessions.orphans import OrphanCalls
from tests.contract.fake_live import InMemoryLiveState

NOW = 1_800_000_000.0


class Records:
    def __init__(self) -> None:
        self.written: list[CallRecord] = []

    async def write(self, record: CallRecord, events: Iterable[CallEvent]) -> bool:
        self.written.append(record)
        return True


def talking(call_id: str) -> calls.Call:
    call = calls.start(calls.Arrived(NOW, call_id, "13800000001", "12345"))
    for event in (calls.Queued(NOW + 8, "main", "zh", frozenset({"traffic"})), calls.Offered(NOW + 8.1, "2001"),
                  calls.Answered(NOW + 9)):
        call = calls.apply(call, event)
    return call


def queued(call_id: str) -> calls.Call:
    return calls.apply(calls.start(calls.Arrived(NOW, call_id, "13800000002", "12345")),
                       calls.Queued(NOW + 8, "main", "zh"))


async def world(*saved: tuple[str, calls.Call]) -> tuple[InMemoryLiveState, Records, set[str], OrphanCalls]:
    now = [NOW + 30]
    live = InMemoryLiveState(lambda: now[0])
    await live.heartbeat("survivor", 5000)
    for owner, call in saved:
        await live.save_call(owner, calls.to_dict(call))
    records, up = Records(), set()

    async def channel_ids() -> set[str]:
        return up

    return live, records, up, OrphanCalls("survivor", live, records, channel_ids)


async def test_a_call_talking_when_its_controller_died_is_stored_once_its_channel_ends() -> None:
    live, records, up, orphans = await world(("dead-1", talking("c1")))
    up.add("c1")  # the conversation goes on in Asterisk
    assert await orphans.sweep(NOW + 30) == 0 and records.written == []
    up.clear()  # the caller hung up
    assert await orphans.sweep(NOW + 95) == 1
    (record,) = records.written
    assert (record.call_id, record.outcome, record.agent_id, record.queue) == ("c1", "answered", "2001", "main")
    assert (record.queued_at, record.answered_at, record.ended_at) == (NOW + 8, NOW + 9, NOW + 95)
    assert record.attrs["recovered_by"] == "survivor" and record.attrs["controller"] == "dead-1"
    assert await live.held_calls() == []
    assert await orphans.sweep(NOW + 100) == 0 and len(records.written) == 1  # stored once


async def test_a_call_that_had_not_reached_an_agent_is_left_to_the_fallback_record() -> None:
    live, records, up, orphans = await world(("dead-1", queued("c2")))
    assert await orphans.sweep(NOW + 30) == 1
    assert records.written == [] and await live.held_calls() == []


async def test_a_live_controllers_calls_and_a_callback_request_are_left_alone() -> None:
    booked = calls.apply(calls.apply(queued("c4"), calls.CallbackOffered(NOW + 20)), calls.CallbackBooked(NOW + 21))
    live, records, up, orphans = await world(("survivor", talking("c3")), ("dead-1", booked))
    assert await orphans.sweep(NOW + 30) == 0
    assert sorted(state["call_id"] for _, state in await live.held_calls()) == ["c3", "c4"]
