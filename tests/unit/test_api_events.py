"""The agent's event stream (SSE) and ``serve_api``: in process over ASGI, and through a real
uvicorn on a loopback port in this test's own event loop (events read as they come,
heartbeats, the end of a session, a stop that does not wait for open streams, the
process's signal handlers left alone)."""
from __future__ import annotations

import asyncio
import json
import signal
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import pytest

from hotline.api.app import make_app
from hotline.api.config import ApiConfig
from hotline.api.server import ApiServerError, serve_api
from tests.fakes_api import FakeEventFeed, World, bearer, client, log_in


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The stream's blocks: {"event", "data"} for events, {"comment"} for comment lines."""
    blocks = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        item: dict[str, Any] = {}
        for line in filter(None, block.split("\n")):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                item["comment"] = value
            elif field == "data":
                item["data"] = json.loads(value)
            else:
                item[field] = value
        blocks.append(item)
    return blocks


def make_world(**kw: Any) -> World:
    world = World(**kw)
    world.add_user("alice", "agent", agent_id="1001")
    world.add_user("sam", "supervisor")
    world.add_user("bob", "agent", agent_id="1002")
    return world


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# -- in process (ASGI: the answer is read whole, so the feed ends the stream) -------------

async def test_an_agent_receives_the_events_pushed_for_them() -> None:
    world = make_world()
    async with client(make_app(world.deps())) as http:
        login = await log_in(http, "alice")
        request = asyncio.create_task(http.get("/api/v1/agents/1001/events", headers=bearer(login)))
        await wait_for(lambda: world.events.subscribers("1001") == 1)
        world.events.push("1001", {"kind": "agent_state", "state": "available"})
        world.events.push("1002", {"kind": "agent_state", "state": "paused"})  # someone else's
        world.events.push("1001", {"kind": "call", "call_id": "c1", "event": "offered"})
        world.events.end("1001")
        answer = await asyncio.wait_for(request, 5)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    blocks = parse_sse(answer.text)
    assert blocks[0] == {"comment": "connected"}
    assert blocks[1:] == [{"event": "agent_state", "data": {"kind": "agent_state", "state": "available"}},
                          {"event": "call", "data": {"kind": "call", "call_id": "c1", "event": "offered"}}]
    assert world.events.closed == world.events.opened == 1


async def test_another_agents_stream_is_forbidden_and_a_supervisor_may_watch_it() -> None:
    world = make_world(events=FakeEventFeed(finite=True))
    async with client(make_app(world.deps())) as http:
        alice, sam = await log_in(http, "alice"), await log_in(http, "sam")
        http.cookies.clear()
        refused = await http.get("/api/v1/agents/1002/events", headers=bearer(alice))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        anonymous = await http.get("/api/v1/agents/1002/events")
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
        watched = await http.get("/api/v1/agents/1002/events", headers=bearer(sam))
        assert watched.status_code == 200
    assert world.events.opened == 1


async def test_the_stream_authenticates_with_the_cookie_as_a_browser_does() -> None:
    world = make_world(events=FakeEventFeed(finite=True))
    async with client(make_app(world.deps())) as http:
        await log_in(http, "alice")  # the cookie stays in the client; no header
        assert (await http.get("/api/v1/agents/1001/events")).status_code == 200


# -- a real server ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.Task[None], asyncio.Event]]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve_api(make_app(world.deps()), "127.0.0.1", port, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        async with asyncio.timeout(5):
            while True:
                try:
                    await http.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)
        try:
            yield http, task, stop
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def next_block(lines: AsyncIterator[str]) -> dict[str, Any]:
    """The next non-empty block of the stream, read line by line as it arrives."""
    text = ""
    async with asyncio.timeout(5):
        async for line in lines:
            if line == "" and text:
                return parse_sse(text)[0]
            text += line + "\n"
    raise AssertionError(f"stream ended: {text!r}")


async def test_events_arrive_as_they_happen_with_heartbeats_between_over_a_real_socket() -> None:
    world = make_world(config=ApiConfig(heartbeat_seconds=0.2))
    async with running(world) as (http, _task, _stop):
        login = await log_in(http, "alice")
        async with http.stream("GET", "/api/v1/agents/1001/events", headers=bearer(login)) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert await next_block(lines) == {"comment": "connected"}
            world.events.push("1001", {"kind": "agent_state", "state": "paused", "reason": "meal"})
            assert await next_block(lines) == {"event": "agent_state",
                                               "data": {"kind": "agent_state", "state": "paused", "reason": "meal"}}
            assert await next_block(lines) == {"comment": "heartbeat"}
            world.events.push("1001", {"kind": "call", "event": "ringing"})
            assert (await next_block(lines))["event"] == "call"
            # Logged out elsewhere: the next heartbeat finds the session gone and ends the stream.
            world.users.delete_session(world.users._sessions[next(iter(world.users._sessions))].token_hash)
            assert (await next_block(lines))["event"] == "session_ended"
        await wait_for(lambda: world.events.closed == 1)


async def test_a_stop_ends_open_streams_and_the_server_promptly() -> None:
    world = make_world()
    async with running(world) as (http, task, stop):
        login = await log_in(http, "alice")
        async with http.stream("GET", "/api/v1/agents/1001/events", headers=bearer(login)) as stream:
            lines = stream.aiter_lines()
            assert await next_block(lines) == {"comment": "connected"}
            loop = asyncio.get_running_loop()
            started = loop.time()
            stop.set()
            await asyncio.wait_for(task, 5)
            assert loop.time() - started < 2.5
        assert world.events.closed == 1


async def test_serve_api_leaves_the_processs_signal_handlers_alone() -> None:
    mine = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGHUP)
    world = make_world()
    async with running(world) as (http, _task, _stop):
        assert (await http.get("/api/v1/health")).json()["ok"] is True
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT),
                signal.getsignal(signal.SIGHUP)) == mine
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGHUP)) == mine


async def test_a_port_that_is_taken_raises_instead_of_exiting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ApiServerError, match=f"127.0.0.1:{port}"):
            await asyncio.wait_for(serve_api(make_app(make_world().deps()), "127.0.0.1", port, asyncio.Event()), 5)


class BrokenFeed:
    """A feed that delivers one event, one with a kind no ``event:`` line may carry, then fails."""

    async def subscribe(self, _agent_id: str) -> AsyncIterator[dict[str, Any]]:
        yield {"kind": "call", "n": 1}
        yield {"kind": "bad\nkind", "n": 2}
        raise RuntimeError("feed lost")


async def test_a_failing_feed_ends_the_stream_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    world = make_world(events=BrokenFeed())  # type: ignore[arg-type]
    async with client(make_app(world.deps())) as http:
        login = await log_in(http, "alice")
        answer = await asyncio.wait_for(http.get("/api/v1/agents/1001/events", headers=bearer(login)), 5)
    assert answer.status_code == 200
    assert parse_sse(answer.text)[1:] == [{"event": "call", "data": {"kind": "call", "n": 1}},
                                          {"event": "message", "data": {"kind": "bad\nkind", "n": 2}}]
    assert "event feed of agent 1001 failed" in caplog.text
