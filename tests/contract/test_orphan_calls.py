"""A survivor finishes the calls of a controller that died (issue 13): a call that was talking
gets its record once its caller's channel ends; one that had not reached an agent is left to
the fallback queue's record; a callback request keeps its place."""
from __future__ import annotations

from typing import Iterable

import calls
from calls.queue_log import Served
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


def ringing(call_id: str) -> calls.Call:
    return calls.apply(queued(call_id), calls.Offered(NOW + 8.1, "2003"))


async def world(*saved: tuple[str, calls.Call], served: dict[str, Served] | None = None
                ) -> tuple[InMemoryLiveState, Records, set[str], OrphanCalls]:
    now = [NOW + 30]
    live = InMemoryLiveState(lambda: now[0])
    await live.heartbeat("survivor", 5000)
    for owner, call in saved:
        await live.save_call(owner, calls.to_dict(call))
    records, up = Records(), set()

    async def channel_ids() -> set[str]:
        return up

    async def served_lines() -> dict[str, Served]:
        return served or {}

    return live, records, up, OrphanCalls("survivor", live, records, channel_ids, served=served_lines)


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


async def test_a_call_ringing_when_its_controller_died_and_then_answered_is_stored_from_the_served_line() -> None:
    """The ring went on in Asterisk without its session; the agent answered; the dialplan wrote
    SERVED (agent channel, talk time) when the talk ended: the record says who and when."""
    served = {"c5": Served("c5", NOW + 40.0, 25.5, "PJSIP/2003-0000001a")}
    live, records, up, orphans = await world(("dead-1", ringing("c5")), served=served)
    assert await orphans.sweep(NOW + 45) == 1
    (record,) = records.written
    assert (record.outcome, record.agent_id, record.answered_at, record.ended_at) == ("answered", "2003", NOW + 14.5,
                                                                                     NOW + 40.0)
    assert record.attrs["state_at_loss"] == "offered"
    assert await live.held_calls() == []


async def test_a_call_ringing_when_its_controller_died_and_not_answered_is_left_to_the_fallback() -> None:
    live, records, up, orphans = await world(("dead-1", ringing("c6")))
    assert await orphans.sweep(NOW + 45) == 1
    assert records.written == [] and await live.held_calls() == []



async def test_a_three_party_call_of_a_dead_controller_is_stored_with_its_legs() -> None:
    """The room's value is saved beside the call's at every step (ThreeParty's ``save``): the
    survivor's record holds the agency legs, the handling and the room's recording."""
    from calls import leg_records, legs

    value = legs.replay([legs.Conference("traffic_police", "053186010099", NOW + 20), legs.AgencyAnswered(NOW + 23)],
                        call_id="c9", started_at=NOW + 20)
    live, records, up, _ = await world(("dead-1", talking("c9")))
    await live.save_call_part("c9", leg_records.SAVED_PART, leg_records.encode_saved(value, opened=True))
    written: list[list[CallEvent]] = []

    class WithEvents(Records):
        async def write(self, record: CallRecord, events: Iterable[CallEvent]) -> bool:
            written.append(list(events))
            return await super().write(record, events)

    sink = WithEvents()

    async def nothing_up() -> set[str]:
        return set()

    orphans = OrphanCalls("survivor", live, sink, nothing_up, recording=lambda call_id: f"/r/{call_id}.wav")
    assert await orphans.sweep(NOW + 60) == 1
    (record,) = sink.written
    assert record.recording == "/r/c9.wav"
    assert record.attrs["handling"] == "three_party" and record.attrs["agencies"] == ["traffic_police"]
    assert record.attrs["conference_recording"] == "/r/c9-3way.wav"
    (leg,) = [e.data for e in written[0] if e.kind == "agency_leg"]
    assert (leg["agency"], leg["number"], leg["answered_at"]) == ("traffic_police", "053186010099", NOW + 23)


async def test_an_unreadable_saved_room_still_stores_the_call() -> None:
    from calls import leg_records

    live, records, up, orphans = await world(("dead-1", talking("c10")))
    await live.save_call_part("c10", leg_records.SAVED_PART, "{not json")
    assert await orphans.sweep(NOW + 60) == 1
    (record,) = records.written
    assert record.outcome == "answered" and "handling" not in record.attrs


async def test_a_part_saved_for_a_call_no_longer_held_is_dropped() -> None:
    live, records, up, orphans = await world()
    await live.save_call_part("gone", "three_way", "{}")
    assert await live.saved_call("gone") is None


async def test_a_recovered_call_keeps_its_ivr_path_and_repeat_count() -> None:
    import json

    live, records, up, orphans = await world()
    await live.save_call("dead-1", {**calls.to_dict(talking("c11")),
                                    "screen": json.dumps({"ivr_path": [{"node": "menu", "digits": "1"}],
                                                          "repeat_calls": 2})})
    assert await orphans.sweep(NOW + 60) == 1
    (record,) = records.written
    assert record.ivr_path == ({"node": "menu", "digits": "1"},) and record.repeat_calls == 2
