"""Fixtures of the contract suite: each behaviour test runs once per live store.

``backend`` is the store under test with what a test needs around it: a second handle on
the same state (another controller), the messages published since the last look, and a
way to let time pass (a manual clock for the fake, a real sleep for Redis). Redis runs are
marked ``redis``; each works under its own key prefix, deleted afterwards, on the server
``hotline.ops.daemons.ensure_redis`` finds or starts (``REDIS_URL``, else 127.0.0.1:6379/0).
``-m "not redis"`` runs the fake alone and never touches Redis.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import AsyncIterator

import pytest
from redis.asyncio import Redis

from hotline.live.keys import LiveKeys
from hotline.live.redis_state import LiveState
from hotline.ops.daemons import ensure_redis
from hotline.settings import Settings
from tests.contract.fake_live import InMemoryLiveState
from tests.contract.live_port import LiveStore

MARKER = "contract-end"  # the channel (under the test's prefix) that closes a read of messages


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redis: needs a Redis server (started by hotline.ops.daemons.ensure_redis)")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``redis`` every test that uses Redis: the ``[redis]`` runs of ``backend`` and
    whatever asks for ``redis_url``. (Marking in the decorators of this module would fail:
    under ``pytest tests`` they run before ``pytest_configure`` registers the marker.)"""
    for item in items:
        callspec = getattr(item, "callspec", None)
        uses_redis = callspec is not None and callspec.params.get("backend") == "redis"
        if uses_redis or "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


class ManualClock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.fake = InMemoryLiveState(self.clock)
        self.live: LiveStore = self.fake
        self.other: LiveStore = self.fake  # controllers of one instance share the store
        self._seen = 0

    async def published(self) -> list[tuple[str, str]]:
        """(channel, data) of each message since the last call, in order."""
        fresh = self.fake.published[self._seen:]
        self._seen = len(self.fake.published)
        return [tuple(m) for m in fresh]  # type: ignore[misc]

    async def let_pass(self, ms: float) -> None:
        self.clock.advance(ms / 1000)


class RedisBackend:
    name = "redis"

    def __init__(self, url: str) -> None:
        self.keys = LiveKeys(f"hl:contract-{uuid.uuid4().hex[:10]}:")
        self.clients = [Redis.from_url(url, decode_responses=True) for _ in range(3)]
        self.live: LiveStore = LiveState(self.clients[0], self.keys)
        self.other: LiveStore = LiveState(self.clients[1], self.keys)
        self.pubsub = self.clients[2].pubsub()

    async def open(self) -> "RedisBackend":
        await self.pubsub.psubscribe(f"{self.keys.prefix}*")
        await self._next()  # the subscription is confirmed: nothing published later is missed
        return self

    async def published(self) -> list[tuple[str, str]]:
        """(channel without the prefix, data) of each message since the last call, in order:
        everything published before the marker published here has arrived before it."""
        await self.clients[0].publish(self.keys.prefix + MARKER, "")
        seen: list[tuple[str, str]] = []
        while (message := await self._next())["channel"] != self.keys.prefix + MARKER:
            seen.append((message["channel"].removeprefix(self.keys.prefix), message["data"]))
        return seen

    async def _next(self) -> dict[str, str]:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            message = await self.pubsub.get_message(timeout=0.1)
            if message is not None:
                return message
        raise AssertionError("no pub/sub message within 2 s")

    async def let_pass(self, ms: float) -> None:
        await asyncio.sleep(ms / 1000)

    async def close(self) -> None:
        client = self.clients[0]
        try:
            keys = [k async for k in client.scan_iter(match=self.keys.pattern, count=500)]
            if keys:
                await client.delete(*keys)
            assert [k async for k in client.scan_iter(match=self.keys.pattern)] == []
        finally:
            await self.pubsub.aclose()
            for c in self.clients:
                await c.aclose()


Backend = MemoryBackend | RedisBackend


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis that answers, started when none does (only Redis-marked tests ask for it)."""
    return ensure_redis(Settings(redis_url=os.environ.get("REDIS_URL", "")))


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    redis_backend = await RedisBackend(request.getfixturevalue("redis_url")).open()
    try:
        yield redis_backend
    finally:
        await redis_backend.close()
