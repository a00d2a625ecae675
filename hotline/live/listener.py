"""The controller's subscription to the live state's channels, and what each message means.

- ``changed``: the routing picture changed somewhere: the router's fast-offer mirror is
  stale and the router wakes;
- ``control``: commands to every controller, e.g. ``stop-ring <agent>`` when an agent pauses
  or logs out while one of our calls rings their phone (hang up that leg now, not at the
  ring timeout);
- ``owner:<us>``: assignments for the calls this controller holds;
- ``desk``: events for an agent's desk from the controller that holds the call (a desk's
  event stream may be served by any controller); our own are already delivered.

A lost subscription is retried every second and logged once until it is back.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

from redis.asyncio import Redis

from hotline.live.keys import LiveKeys
from hotline.live.redis_state import parse_assignment

log = logging.getLogger(__name__)


class LiveListener:
    def __init__(self, redis: Redis, keys: LiveKeys, controller_id: str, changed: Callable[[], None],
                 stop_ring: Callable[[str, str], Any], deliver: Callable[[str, str, int], None],
                 desk: Callable[[str, dict[str, Any]], None] = lambda agent_id, event: None) -> None:
        self._redis = redis
        self._keys = keys
        self._controller_id = controller_id
        self._changed = changed
        self._stop_ring = stop_ring
        self._deliver = deliver
        self._desk = desk

    async def run(self) -> None:
        lost = False
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._keys.changed, self._keys.control, self._keys.desk,
                                           self._keys.owner(self._controller_id))
                    lost = False
                    async for message in pubsub.listen():
                        self.on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    log.error("Redis subscription lost (%s); retrying every second", exc)
                lost = True
                await asyncio.sleep(1)

    def on_message(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel, data = message["channel"], str(message["data"])
        if channel == self._keys.changed:
            self._changed()
        elif channel == self._keys.control:
            verb, _, agent_id = data.partition(" ")
            if verb == "stop-ring":
                self._stop_ring(agent_id, "paused while ringing")
        elif channel == self._keys.desk:
            self._desk_message(data)
        else:
            parsed = parse_assignment(data)
            if parsed is not None:
                self._deliver(*parsed)

    def _desk_message(self, data: str) -> None:
        try:
            message = json.loads(data)
            origin, agent_id, event = message["from"], message["agent_id"], message["event"]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("unreadable desk event on %s dropped (%s): %.200r", self._keys.desk, exc, data)
            return
        if origin != self._controller_id and isinstance(agent_id, str) and isinstance(event, dict):
            self._desk(agent_id, event)
