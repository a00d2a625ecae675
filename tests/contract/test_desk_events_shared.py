"""A desk's event stream served by one controller gets the events another controller
produced (the three-party notice of a call it holds), over the real Redis pub/sub: the
producer's AgentEvents shares them (LiveState.publish_desk_event), every controller's
LiveListener delivers those of the others to its own streams, and nobody gets one twice."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis

from hotline.live.keys import LiveKeys
from hotline.live.listener import LiveListener
from hotline.live.redis_state import LiveState
from hotline.tasks import TaskOwner
from hotline.three_party.events import AgentEvents

URL = "redis://127.0.0.1:6379/0"
NOTICE = {"kind": "three_party_notice", "call_id": "c1", "reason": "busy", "next_number": "0531-1"}


class Controller:
    """What bootstrap wires for the desk events of one controller."""

    def __init__(self, name: str, keys: LiveKeys) -> None:
        self.redis = Redis.from_url(URL, decode_responses=True)
        self.live = LiveState(self.redis, keys)
        self.tasks = TaskOwner(name)
        self.events = AgentEvents(self._no_state, share=lambda a, e: self.live.publish_desk_event(name, a, e),
                                  tasks=self.tasks)
        self.listener = LiveListener(self.redis, keys, name, changed=lambda: None, stop_ring=lambda a, r: None,
                                     deliver=lambda c, a, s: None, desk=self.events.deliver)

    @staticmethod
    async def _no_state(agent_id: str) -> Any:
        return None


async def _collect(stream: Any, into: list[dict[str, Any]]) -> None:
    """Every event of the stream but the agent_state ones (the desk's reader)."""
    async for event in stream:
        if event["kind"] != "agent_state":
            into.append(event)


async def _scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    keys = LiveKeys(f"hl:contract-desk-{uuid.uuid4().hex[:8]}:")
    holder, other = Controller("ctl-a", keys), Controller("ctl-b", keys)
    at_holder: list[dict[str, Any]] = []
    at_other: list[dict[str, Any]] = []
    elsewhere: list[dict[str, Any]] = []
    tasks = [asyncio.create_task(c.listener.run()) for c in (holder, other)]
    tasks += [asyncio.create_task(_collect(holder.events.subscribe("2001"), at_holder)),
              asyncio.create_task(_collect(other.events.subscribe("2001"), at_other)),
              asyncio.create_task(_collect(other.events.subscribe("2002"), elsewhere))]
    try:
        await asyncio.sleep(0.5)  # the streams are open and both subscriptions in place
        holder.events.publish("2001", NOTICE)
        for _ in range(30):  # up to 3 s for the other controller's copy
            if at_other:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # time for an echo or a double, had there been one
        return at_holder, at_other, elsewhere
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in (holder, other):
            await c.redis.aclose()


def test_a_notice_reaches_the_agents_stream_on_every_controller_once() -> None:
    at_holder, at_other, elsewhere = asyncio.run(_scenario())
    assert at_holder == [NOTICE]  # its own stream, once (its own publication is not delivered again)
    assert at_other == [NOTICE]   # the stream another controller serves
    assert elsewhere == []        # not another agent's


def test_an_unreadable_desk_message_is_dropped_without_stopping_the_listener() -> None:
    got: list[tuple[str, dict[str, Any]]] = []
    keys = LiveKeys("hl:x:")
    listener = LiveListener(None, keys, "ctl-b", changed=lambda: None,  # type: ignore[arg-type]
                            stop_ring=lambda a, r: None, deliver=lambda c, a, s: None,
                            desk=lambda a, e: got.append((a, e)))
    for data in ("not json", '{"from": "ctl-a"}', '["a"]', '{"from": "ctl-a", "agent_id": 7, "event": {}}',
                 '{"from": "ctl-b", "agent_id": "2001", "event": {"kind": "mine"}}',
                 '{"from": "ctl-a", "agent_id": "2001", "event": {"kind": "theirs"}}'):
        listener.on_message({"type": "message", "channel": keys.desk, "data": data})
    assert got == [("2001", {"kind": "theirs"})]
