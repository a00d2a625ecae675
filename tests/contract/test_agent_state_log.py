"""The agents' state log (hotline/store/agent_states.py) on a real SQLite file and a real
PostgreSQL database, fed by the real AgentService over the in-memory live state, and read
back by re-seeding: a Redis that comes back empty while the controller restarted too puts
every agent back as the log last saw them (issue 13, point 2)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from acd import QueuePolicy
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from hotline.live.agent_service import AgentService
from hotline.live.reseed import reseed_agents
from hotline.store.agent_states import AgentStateLog, AgentStateStore, StateChange
from hotline.store.calls import make_engine, migrate
from tests.contract.fake_live import InMemoryLiveState
from tests.unit.test_records_store import PG_DOWN, fresh_pg_database

NOW = 1_800_000_000.0
ROSTER = [RosterAgent(a, a, frozenset({"zh"}), (), login=a == "2004") for a in ("2001", "2002", "2003", "2004")]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentStateStore]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'states.sqlite3'}")
        migrate(engine)
        yield AgentStateStore(engine)
        engine.dispose()
        return
    with fresh_pg_database() as url:
        engine = make_engine(url)
        migrate(engine)
        yield AgentStateStore(engine)
        engine.dispose()


class Desk:
    """An AgentService writing to a state log, with a clock the test moves."""

    def __init__(self, store: AgentStateStore) -> None:
        self.now = NOW
        self.live = InMemoryLiveState(lambda: self.now)
        self.log = AgentStateLog(store)
        self.agents = AgentService(self.live, lambda: self.now, on_change=self.log.note)

    async def seed(self) -> None:
        for seat in ROSTER:
            await self.live.put_agent(AgentRecord(seat.agent_id, since=self.now))


async def test_every_shift_change_is_logged_with_its_reason_and_the_last_one_read_back(store: AgentStateStore) -> None:
    desk = Desk(store)
    await desk.seed()
    await desk.agents.log_in("2001")
    await desk.agents.log_in("2002")
    desk.now += 10
    await desk.agents.pause("2002", "meal")
    await desk.agents.pause("2002", "meal")  # no change: not logged twice
    await desk.agents.log_in("2003")
    desk.now += 10
    await desk.agents.log_out("2003")
    assert desk.log.pending == 5
    assert await desk.log.flush() and desk.log.pending == 0
    assert [(r["state"], r["reason"]) for r in store.history("2002")] == [("available", ""), ("paused", "meal")]
    last = store.last(since=NOW - 1)
    assert {a: (r.state, r.pause_reason) for a, r in last.items()} == {
        "2001": (AgentState.AVAILABLE, None), "2002": (AgentState.PAUSED, "meal"),
        "2003": (AgentState.LOGGED_OUT, None)}
    assert store.last(since=NOW + 15) == {"2003": last["2003"]}  # older rows are not trusted


async def test_a_call_is_logged_on_call_and_wrap_up_but_not_the_offer(store: AgentStateStore) -> None:
    desk = Desk(store)
    await desk.seed()
    await desk.agents.log_in("2001")
    await desk.live.update_agent("2001", lambda r: replace(r, state=AgentState.RESERVED, call_id="c1", queue="main"))
    await desk.agents.ringing("2001", "c1")
    await desk.agents.answered("2001")
    desk.now += 30
    await desk.agents.call_ended("2001", QueuePolicy("main", wrapup_seconds=5), answered_at=NOW)
    await desk.log.flush()
    assert [(r["state"], r["call_id"]) for r in store.history("2001")] == [
        ("available", ""), ("on_call", "c1"), ("wrap_up", "c1")]


async def test_changes_wait_in_order_while_the_database_is_down() -> None:
    engine = make_engine(PG_DOWN)
    log = AgentStateLog(AgentStateStore(engine), max_buffered=3)
    for i, state in enumerate((AgentState.AVAILABLE, AgentState.PAUSED, AgentState.AVAILABLE, AgentState.LOGGED_OUT)):
        log.note(AgentRecord("2001", state, since=NOW + i, pause_reason="meal" if state is AgentState.PAUSED else None),
                 NOW + i)
    assert not await log.flush()
    assert log.pending == 3  # bounded: the oldest went
    assert await log.last(since=0) == {}  # unreadable: re-seeding goes by the roster
    engine.dispose()


async def test_buffered_changes_reach_the_database_once_it_answers(store: AgentStateStore) -> None:
    log = AgentStateLog(store)
    real = store.append
    calls = {"n": 0}

    def flaky(changes: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            from sqlalchemy.exc import OperationalError
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        real(changes)  # type: ignore[arg-type]

    store.append = flaky  # type: ignore[method-assign]
    log.note(AgentRecord("2001", AgentState.AVAILABLE, since=NOW), NOW)
    log.note(AgentRecord("2001", AgentState.PAUSED, since=NOW + 1, pause_reason="training"), NOW + 1)
    assert not await log.flush() and log.pending == 2
    assert await log.flush() and log.pending == 0
    assert [(r["state"], r["reason"]) for r in store.history("2001")] == [("available", ""), ("paused", "training")]


async def test_redis_back_empty_after_a_restart_puts_agents_back_as_the_log_saw_them(store: AgentStateStore) -> None:
    """Controller and Redis both lost: the new controller's memory is empty; the log says
    2001 was ready, 2002 paused for a meal, 2003 logged out; 2004 (roster login: true) has no
    row and is logged in by the roster; 2001's phone has a channel: on a call."""
    store.append([StateChange("2001", NOW - 60, "available"), StateChange("2002", NOW - 50, "available"),
                  StateChange("2002", NOW - 40, "paused", "meal"), StateChange("2003", NOW - 30, "available"),
                  StateChange("2003", NOW - 20, "logged_out")])
    desk = Desk(store)

    async def channels() -> set[str]:
        return {"PJSIP/2001-0000002a"}

    last = await desk.log.last(since=NOW - 3600)
    done = await reseed_agents(desk.live, ROSTER, desk.agents, channels, desk.now, last_seen=last)
    assert (done.on_call, done.logged_in, done.logged_out) == (("2001",), ("2002", "2004"), ("2003",))
    assert (await desk.live.agent("2002")).pause_reason == "meal"  # type: ignore[union-attr]


async def test_a_restarted_controller_logs_agents_in_as_the_log_saw_them(store: AgentStateStore) -> None:
    store.append([StateChange("2001", NOW - 60, "on_call", call_id="c7"), StateChange("2002", NOW - 40, "paused", "meal"),
                  StateChange("2003", NOW - 20, "logged_out")])
    desk = Desk(store)
    await desk.agents.log_in_roster(ROSTER, last_seen=await desk.log.last(since=NOW - 3600))
    states = {a.agent_id: ((await desk.live.agent(a.agent_id)).state,  # type: ignore[union-attr]
                           (await desk.live.agent(a.agent_id)).pause_reason) for a in ROSTER}  # type: ignore[union-attr]
    assert states == {"2001": (AgentState.AVAILABLE, None), "2002": (AgentState.PAUSED, "meal"),
                      "2003": (AgentState.LOGGED_OUT, None), "2004": (AgentState.AVAILABLE, None)}
