"""The fallback queue's members follow the agents' shifts (hotline/live/fallback_members.py):
given the agents as the leader's routing step reads them, app_queue (a fake AMI recording the
exact actions) is told to pause a seat that is logged out or paused and to unpause it when
back on shift, only when that differs from what it was last told; after an AMI login every
seat is set again."""
from __future__ import annotations

import asyncio
from typing import Any

from agents.state import AgentRecord, AgentState
from hotline.live.fallback_members import FallbackMembers
from hotline.tasks import TaskOwner

NOW = 1_800_000_000.0


class Ami:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.down = False

    async def action(self, fields: dict[str, str]) -> Any:
        if self.down:
            raise ConnectionError("AMI not connected")
        self.sent.append(fields)
        return {"Response": "Success"}

    def told(self) -> list[tuple[str, str]]:
        found = [(f["Interface"], f["Paused"]) for f in self.sent]
        self.sent.clear()
        return sorted(found)


def seats(**states: AgentState) -> list[AgentRecord]:
    return [AgentRecord(agent_id[1:], state, since=NOW, pause_reason="meal" if state is AgentState.PAUSED else None,
                        call_id="c" if state in (AgentState.ON_CALL, AgentState.WRAP_UP) else None)
            for agent_id, state in states.items()]


async def step(members: FallbackMembers, records: list[AgentRecord]) -> None:
    members.sync(records)
    await asyncio.sleep(0.02)


async def test_only_what_changed_is_told_and_off_shift_seats_are_paused() -> None:
    ami = Ami()
    members = FallbackMembers(ami.action, TaskOwner("t"))
    S = AgentState
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT, a2003=S.PAUSED, a2004=S.ON_CALL))
    assert ami.told() == [("PJSIP/2001", "false"), ("PJSIP/2002", "true"), ("PJSIP/2003", "true"),
                          ("PJSIP/2004", "false")]
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT, a2003=S.PAUSED, a2004=S.WRAP_UP))
    assert ami.told() == []  # nothing changed for app_queue
    await step(members, seats(a2001=S.PAUSED, a2002=S.AVAILABLE, a2003=S.PAUSED, a2004=S.WRAP_UP))
    assert ami.told() == [("PJSIP/2001", "true"), ("PJSIP/2002", "false")]


async def test_asterisk_away_then_back_every_seat_is_set_again() -> None:
    ami = Ami()
    members = FallbackMembers(ami.action, TaskOwner("t"))
    S = AgentState
    ami.down = True
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT))
    assert ami.told() == []
    ami.down = False
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT))
    assert ami.told() == []  # no retry every step while away (nor a log line each): the AMI login resets
    members.forget()
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT))
    assert ami.told() == [("PJSIP/2001", "false"), ("PJSIP/2002", "true")]
    members.forget()  # an AMI login: Asterisk may have restarted, its static members unpaused
    await step(members, seats(a2001=S.AVAILABLE, a2002=S.LOGGED_OUT))
    assert ami.told() == [("PJSIP/2001", "false"), ("PJSIP/2002", "true")]


async def test_a_seat_that_is_no_member_does_not_stop_the_others() -> None:
    """A seat in the live state that queues.conf does not list (a load test's pool, a seat
    removed from the roster): Asterisk refuses its QueuePause ("Interface not found"); the
    other seats are still set, and the refused one is not asked again every step."""
    from hotline.asterisk.ami import AmiError

    class Refusing(Ami):
        async def action(self, fields: dict[str, str]) -> Any:
            if fields["Interface"] == "PJSIP/3001":
                self.sent.append(fields)
                raise AmiError("AMI QueuePause failed: Interface not found")
            return await super().action(fields)

    ami = Refusing()
    members = FallbackMembers(ami.action, TaskOwner("t"))
    S = AgentState
    await step(members, seats(a3001=S.LOGGED_OUT, a2001=S.LOGGED_OUT))
    assert ami.told() == [("PJSIP/2001", "true"), ("PJSIP/3001", "true")]
    await step(members, seats(a3001=S.LOGGED_OUT, a2001=S.AVAILABLE))
    assert ami.told() == [("PJSIP/2001", "false")]  # still set after the refusal; 3001 not asked again
