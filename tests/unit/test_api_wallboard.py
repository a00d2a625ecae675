"""The wallboard routes: ``GET /api/v1/wallboard`` and its event stream, for supervisors and
admins only; the snapshot's shape; over a real uvicorn socket, a change pushed as a new
snapshot within a second, changes in a burst folded (at most one snapshot per 0.5 s), a
snapshot at least every few seconds without a change, the end of a session, a wall that
does not answer, and a server stop that ends the stream."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import pytest

from agents.state import AgentRecord, AgentState
from calls.records import CallRecord
from hotline.api.app import make_app, runtime_of
from hotline.api.config import ApiConfig
from hotline.api.ports import Unavailable
from hotline.api.routes import wallboard as routes
from hotline.api.server import serve_api
from hotline.api.wallboard_memory import InMemoryWallboard
from tests.fakes_api import World, bearer, client, log_in

SNAPSHOT_KEYS = {"at", "day_start", "kpi_as_of", "kpi_stale", "lines", "totals", "agents", "agents_by_state",
                 "callbacks", "rolling_24h", "categories", "alerts"}


def make_world(**kw: Any) -> World:
    world = World(**kw)
    world.add_user("alice", "agent", agent_id="1001")
    world.add_user("sam", "supervisor")
    world.add_user("ada", "admin")
    return world


def deps_with(world: World, wall: Any) -> Any:
    return dataclasses.replace(world.deps(), wallboard=wall)


def parse_sse(text: str) -> list[dict[str, Any]]:
    blocks = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        item: dict[str, Any] = {}
        for line in filter(None, block.split("\n")):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                item["comment"] = value
            elif name == "data":
                item["data"] = json.loads(value)
            else:
                item[name] = value
        blocks.append(item)
    return blocks


# -- in process ------------------------------------------------------------------------------------

async def test_supervisors_and_admins_read_the_wall_agents_and_strangers_do_not() -> None:
    world = make_world()  # the default wall: in memory, its streams end after their snapshot
    async with client(make_app(world.deps())) as http:
        logins = {name: await log_in(http, name) for name in ("alice", "sam", "ada")}
        http.cookies.clear()
        for path in ("/api/v1/wallboard", "/api/v1/wallboard/events"):
            anonymous = await http.get(path)
            assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
            agent = await http.get(path, headers=bearer(logins["alice"]))
            assert agent.status_code == 403 and agent.json()["error"] == "forbidden"
            for staff in ("sam", "ada"):
                answer = await asyncio.wait_for(http.get(path, headers=bearer(logins[staff])), 5)
                assert answer.status_code == 200, answer.text
        stream = await http.get("/api/v1/wallboard/events", headers=bearer(logins["sam"]))
    assert stream.headers["content-type"].startswith("text/event-stream")
    blocks = parse_sse(stream.text)
    assert blocks[0] == {"comment": "connected", "retry": "2000"}
    assert [b.get("event") for b in blocks[1:]] == ["snapshot"]
    assert set(blocks[1]["data"]) == SNAPSHOT_KEYS
    doc = make_app(world.deps()).openapi()
    for path in ("/api/v1/wallboard", "/api/v1/wallboard/events"):
        assert doc["paths"][path]["get"]["x-hotline-access"] == {"roles": ["admin", "supervisor"], "own_agent": False}


async def test_the_snapshot_shows_the_lines_waiting_calls_agents_callbacks_kpis_and_alerts() -> None:
    world = make_world()
    wall = InMemoryWallboard()
    now = world.clock()
    wall.wait("c1", "main", now - 20, skills=["housing"])
    wall.wait("c2", "province", now - 90, language="en")
    wall.wait("cb", "main", now - 600, callback=True)
    wall.put_agent(AgentRecord("1001", AgentState.PAUSED, since=now - 120, pause_reason="meal"))
    wall.put_agent(AgentRecord("1002", AgentState.ON_CALL, since=now - 30, call_id="x", queue="main"))
    # two calls answered in the last 15 minutes, both after more than 15 s: the service level is 0
    for i, wait in enumerate((40.0, 25.0)):
        queued = now - 400 + i * 100
        wall.add_record(CallRecord(call_id=f"r{i}", caller="13800000000", dnis="12345", arrived_at=queued - 5,
                                   queue="main", queued_at=queued, answered_at=queued + wait,
                                   ended_at=queued + wait + 30, agent_id="1002", outcome="answered"))
    async with client(make_app(deps_with(world, wall))) as http:
        sam = await log_in(http, "sam")
        answer = await http.get("/api/v1/wallboard", headers=bearer(sam))
    assert answer.status_code == 200, answer.text
    snap = answer.json()
    assert set(snap) == SNAPSHOT_KEYS and snap["at"] == now
    lines = {line["line"]: line for line in snap["lines"]}
    assert list(lines) == ["main", "province", "business"]  # the shipped queues.yaml, in its order
    main = lines["main"]
    assert [(w["call_id"], w["waited"], w["skills"]) for w in main["waiting"]] == [("c1", 20.0, ["housing"])]
    assert main["callbacks"] == 1 and main["sl_target_seconds"] == 15.0 and main["sl_goal"] == 0.8
    assert (main["today"]["answered"], main["today"]["service_level"], main["today"]["asa"]) == (2, 0.0, 32.5)
    assert main["last_15m"]["connect_rate"] == 1.0
    assert lines["province"]["longest_wait"] == 90.0 and lines["province"]["waiting"][0]["language"] == "en"
    assert snap["agents_by_state"]["paused"] == 1 and snap["agents_by_state"]["on_call"] == 1
    paused = next(a for a in snap["agents"] if a["agent_id"] == "1001")
    assert (paused["state"], paused["pause_reason"], paused["in_state"]) == ("paused", "meal", 120.0)
    assert [c["call_id"] for c in snap["callbacks"]] == ["cb"]
    assert [(a["kind"], a["line"]) for a in snap["alerts"]] == [("service_level", "main"), ("long_wait", "province")]
    assert snap["totals"]["waiting"] == 2 and snap["totals"]["callbacks"] == 1


class DownWall:
    """A wall whose live state does not answer; its change feed never ends."""

    async def snapshot(self, now: float) -> dict[str, Any]:
        raise Unavailable("the live state does not answer")

    async def changes(self) -> AsyncIterator[None]:
        await asyncio.Event().wait()
        yield None


async def test_a_wall_that_does_not_answer_is_503_and_its_stream_says_unavailable(monkeypatch) -> None:
    world = make_world()
    monkeypatch.setattr(routes, "MAX_GAP", 0.2)
    async with client(make_app(deps_with(world, DownWall()))) as http:
        sam = await log_in(http, "sam")
        answer = await http.get("/api/v1/wallboard", headers=bearer(sam))
        assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    async with running(world, DownWall()) as (http, app):
        sam = await log_in(http, "sam")
        async with http.stream("GET", "/api/v1/wallboard/events", headers=bearer(sam)) as stream:
            lines = stream.aiter_lines()
            assert (await next_block(lines))["comment"] == "connected"
            first, second = await next_block(lines), await next_block(lines)  # and again at the next tick
    assert first == second == {"event": "unavailable", "data": {"error": "unavailable",
                                                                "message": "the live state does not answer"}}


# -- over a real socket ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running(world: World, wall: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    port, stop = free_port(), asyncio.Event()
    app = make_app(deps_with(world, wall))
    task = asyncio.create_task(serve_api(app, "127.0.0.1", port, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        async with asyncio.timeout(5):
            while True:
                try:
                    await http.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)
        try:
            yield http, app
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def next_block(lines: AsyncIterator[str], timeout: float = 5.0) -> dict[str, Any]:
    text = ""
    async with asyncio.timeout(timeout):
        async for line in lines:
            if line == "" and text:
                return parse_sse(text)[0]
            text += line + "\n"
    raise AssertionError(f"stream ended: {text!r}")


async def next_snapshot(lines: AsyncIterator[str], timeout: float = 5.0) -> dict[str, Any]:
    while True:
        block = await next_block(lines, timeout)
        if block.get("event") == "snapshot":
            return dict(block["data"])


async def test_a_change_is_pushed_within_a_second_and_a_burst_is_folded() -> None:
    world = make_world()
    wall = InMemoryWallboard()
    loop = asyncio.get_running_loop()
    async with running(world, wall) as (http, _app):
        sam = await log_in(http, "sam")
        async with http.stream("GET", "/api/v1/wallboard/events", headers=bearer(sam)) as stream:
            lines = stream.aiter_lines()
            assert (await next_block(lines))["comment"] == "connected"
            first = await next_snapshot(lines)
            assert first["totals"]["waiting"] == 0
            await asyncio.sleep(0.6)  # past the shortest gap
            started = loop.time()
            wall.wait("c1", "main", world.clock() - 3)
            pushed = await next_snapshot(lines, 1.0)
            assert loop.time() - started < 1.0
            assert [w["call_id"] for w in pushed["lines"][0]["waiting"]] == ["c1"]

            # a burst right after a snapshot: one snapshot, no sooner than 0.5 s after the last
            sent = loop.time()
            for i in range(10):
                wall.put_agent(AgentRecord("1001", AgentState.PAUSED, since=world.clock(), pause_reason=f"r{i}"))
                await asyncio.sleep(0.01)
            folded = await next_snapshot(lines, 2.0)
            assert loop.time() - sent >= 0.45
            assert folded["agents"][0]["pause_reason"] == "r9"

            wall.remove_call("c1")  # answered: gone from the wall
            gone = await next_snapshot(lines, 2.0)
            assert gone["totals"]["waiting"] == 0
        await asyncio.sleep(0.1)
    assert wall.subscribers() == 0  # the subscription was closed with the stream


async def test_without_a_change_a_snapshot_still_comes_so_waiting_times_go_on(monkeypatch) -> None:
    monkeypatch.setattr(routes, "MAX_GAP", 0.4)
    world = make_world()
    wall = InMemoryWallboard()
    wall.wait("c1", "main", world.clock() - 10)
    async with running(world, wall) as (http, _app):
        sam = await log_in(http, "sam")
        async with http.stream("GET", "/api/v1/wallboard/events", headers=bearer(sam)) as stream:
            lines = stream.aiter_lines()
            await next_block(lines)
            one = await next_snapshot(lines)
            world.clock.advance(3)  # time passes; nothing changes
            two = await next_snapshot(lines, 1.0)
    assert two["at"] == one["at"] + 3
    assert (one["lines"][0]["longest_wait"], two["lines"][0]["longest_wait"]) == (10.0, 13.0)


async def test_a_logout_ends_the_stream_and_a_server_stop_ends_it_promptly(monkeypatch) -> None:
    monkeypatch.setattr(routes, "MAX_GAP", 0.2)
    world = make_world(config=ApiConfig(heartbeat_seconds=0.2))
    wall = InMemoryWallboard()
    async with running(world, wall) as (http, _app):
        sam = await log_in(http, "sam")
        async with http.stream("GET", "/api/v1/wallboard/events", headers=bearer(sam)) as stream:
            lines = stream.aiter_lines()
            await next_block(lines)
            await next_snapshot(lines)
            assert (await http.delete("/api/v1/session", headers=bearer(sam))).status_code == 204
            while (block := await next_block(lines)).get("event") == "snapshot":
                pass
            assert block["event"] == "session_ended"
    async with running(make_world(), InMemoryWallboard()) as (http, app):
        sam = await log_in(http, "sam")
        async with http.stream("GET", "/api/v1/wallboard/events", headers=bearer(sam)) as stream:
            lines = stream.aiter_lines()
            await next_block(lines)
            loop = asyncio.get_running_loop()
            started = loop.time()
            runtime_of(app).stop_streams()
            with pytest.raises((AssertionError, httpx.HTTPError)):
                while True:
                    await next_block(lines, 3.0)
            assert loop.time() - started < 2.0
