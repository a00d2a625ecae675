"""Listen, whisper, barge (hotline/supervision/spy.py) over a fake AMI that records the exact
actions, a real audit table (SQLite), and the HTTP routes over the in-memory port: only the
controller builds the ChanSpy line, from the call taker's full channel name and a fixed
option table; every session has an audit row, closed when the supervisor's leg ends."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hotline.api.app import make_app
from hotline.api.ports import IllegalOperation, NoCurrentCall, NotFound
from hotline.asterisk.ami_events import Hangup, OriginateResult
from hotline.store.calls import make_engine, migrate
from hotline.supervision.memory import InMemorySupervision
from hotline.supervision.spy import Supervision
from hotline.tasks import TaskOwner
from recordings.store import SupervisorSessionStore
from tests.contract.test_three_party_rooms import FakeAmi
from tests.fakes_api import bearer, client, log_in, three_role_world

NOW = 1_800_000_000.0


def world(tmp_path: Path) -> tuple[Supervision, FakeAmi, SupervisorSessionStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    migrate(engine)
    store = SupervisorSessionStore(engine)
    track = SimpleNamespace(talking=("2001", None), agent_channel="PJSIP/2001-0000002a")
    registry = SimpleNamespace(tracks={"1800000000.7": track})
    rooms = SimpleNamespace(rooms={})
    ami = FakeAmi()
    return Supervision(ami, registry, rooms, store, lambda: {"9001"}, lambda: NOW, TaskOwner("t")), ami, store


async def test_listen_rings_the_supervisors_phone_into_chanspy_of_that_exact_channel(tmp_path: Path) -> None:
    spy, ami, store = world(tmp_path)
    session = await spy.start("sam", "9001", "2001", "listen")
    ((kind, fields),) = ami.new()
    assert kind == "originate"
    assert (fields["Channel"], fields["Context"], fields["Exten"]) == ("PJSIP/9001", "hotline-spy", "s")
    assert fields["Variables"] == {"HL_SPY_TARGET": "PJSIP/2001-0000002a", "HL_SPY_OPTIONS": "qESu"}
    assert fields["ChannelId"].startswith("spy.")
    (row,) = store.open_sessions()
    assert (row.supervisor, row.supervisor_phone, row.agent_id, row.call_id, row.mode, row.channel) == (
        "sam", "9001", "2001", "1800000000.7", "listen", "PJSIP/2001-0000002a")
    assert row.id == session.id
    spy.handlers[Hangup](Hangup(fields["ChannelId"], "PJSIP/9001-00000003", "16"))
    await asyncio.sleep(0.05)
    assert store.open_sessions() == [] and store.for_call("1800000000.7")[0].end_reason == "ended"


async def test_a_new_mode_replaces_the_running_session_and_a_phone_that_does_not_answer_closes_it(
        tmp_path: Path) -> None:
    spy, ami, store = world(tmp_path)
    first = await spy.start("sam", "9001", "2001", "listen")
    listen_leg = ami.new()[0][1]["ChannelId"]
    await spy.start("sam", "9001", "2001", "whisper")
    calls = ami.new()
    assert calls[0] == ("hangup", listen_leg)  # the listen leg goes first
    assert calls[1][1]["Variables"]["HL_SPY_OPTIONS"] == "qESuw"
    spy.handlers[Hangup](Hangup(listen_leg, "PJSIP/9001-00000003", "16"))
    spy.handlers[OriginateResult](OriginateResult(calls[1][1]["ChannelId"], False, "no answer"))
    await asyncio.sleep(0.05)
    rows = store.for_call("1800000000.7")
    assert [(r.mode, r.end_reason) for r in rows] == [("listen", "ended"), ("whisper", "phone: no answer")]
    assert first.id != rows[1].id


async def test_unknown_phone_no_call_and_bad_mode_are_refused_and_nothing_is_dialled(tmp_path: Path) -> None:
    spy, ami, store = world(tmp_path)
    with pytest.raises(NotFound):
        await spy.start("sam", "9999", "2001", "listen")
    with pytest.raises(NoCurrentCall):
        await spy.start("sam", "9001", "2002", "listen")
    with pytest.raises(IllegalOperation):
        await spy.start("sam", "9001", "2001", "PJSIP/2002,qB")  # never an option string from outside
    assert ami.new() == [] and store.open_sessions() == []


async def test_the_routes_let_supervisors_only_step_in() -> None:
    w = three_role_world()
    supervision = InMemorySupervision(phones={"9001"}, talking=lambda agent: "c1" if agent == "1001" else None)
    app = make_app(replace(w.deps(), supervision=supervision))
    async with client(app) as http:
        sam, alice = bearer(await log_in(http, "sam")), bearer(await log_in(http, "alice"))
        refused = await http.post("/api/v1/agents/1001/supervise", json={"mode": "listen", "phone": "9001"},
                                  headers=alice)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        started = await http.post("/api/v1/agents/1001/supervise", json={"mode": "barge", "phone": "9001"},
                                  headers=sam)
        assert started.status_code == 200, started.text
        body: dict[str, Any] = started.json()
        assert (body["supervisor"], body["agent_id"], body["call_id"], body["mode"]) == ("sam", "1001", "c1", "barge")
        assert [s["session_id"] for s in (await http.get("/api/v1/supervision", headers=sam)).json()] == [
            body["session_id"]]
        idle = await http.post("/api/v1/agents/1002/supervise", json={"mode": "listen", "phone": "9001"}, headers=sam)
        assert idle.status_code == 404 and idle.json()["error"] == "no_current_call"
        assert (await http.delete(f"/api/v1/supervision/{body['session_id']}", headers=sam)).status_code == 204
        assert (await http.delete(f"/api/v1/supervision/{body['session_id']}", headers=sam)).status_code == 404
