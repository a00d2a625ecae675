"""The hotline keeps serving citizens when the controller or Asterisk goes away."""
from __future__ import annotations

import asyncio

import pytest

from hotline.asterisk import process as asterisk_process
from tests.integration.harness import AGENTS, Hotline, _desk_action

pytestmark = pytest.mark.asterisk


def _fallback_members(h: Hotline) -> dict[str, bool]:
    """app_queue's own view of the fallback queue: seat -> paused."""
    members = {}
    for line in asterisk_process.cli(h.settings, "queue show hotline-fallback").splitlines():
        if "(PJSIP/" in line:
            seat = line.split("(PJSIP/", 1)[1].split(")", 1)[0]
            members[seat] = "(paused" in line
    return members


def test_fallback_queue_serves_calls_while_controller_is_down(fresh: Hotline) -> None:
    """The fallback queue rings the seats on shift, never a logged-out one (its members'
    pauses follow the shifts: hotline/live/fallback_members.py)."""
    import time

    on_shift = [a["id"] for a in AGENTS if a["id"] != "2004"]
    phones = {agent["id"]: fresh.agent_phone(agent["id"]) for agent in AGENTS}
    for agent in on_shift:
        fresh.desk("log_in", agent)
    time.sleep(1.0)  # the leader's next routing steps tell app_queue
    fresh.stop_controller()
    try:
        caller = fresh.call("13800000010", digits="", hold_ms=5000, speak=True)
        assert caller.wait(timeout=90) == 0, caller.errors() + caller.output()
    finally:
        fresh.start_controller()
    rec = fresh.record("13800000010", timeout=30)
    assert rec["source"] == "fallback"
    assert rec["outcome"] == "answered"
    assert rec["agent_id"] in on_shift
    assert "INVITE" not in phones["2004"].messages()  # logged out: never rung by the fallback
    assert rec["dnis"] == "12345"
    assert rec["wait_seconds"] is not None and rec["wait_seconds"] < 15
    fresh.assert_recorded(rec, seconds=3)


def test_controller_logs_in_again_after_asterisk_restart(fresh: Hotline) -> None:
    logins_before = fresh.controller_log().count("AMI logged in")
    asterisk_process.stop(fresh.settings)
    asterisk_process.start(fresh.settings)
    fresh.wait_for(lambda: fresh.controller_log().count("AMI logged in") > logins_before, 30,
                   "controller did not log in to AMI again:\n" + fresh.controller_log())
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    # after the restart the phone counts once Asterisk's qualify has seen it again (phones.py)
    fresh.wait_for(lambda: fresh.agent_state("2002").get("state") == "available", 30,
                   "2002 never available after the restart: " + str(fresh.agent_state("2002")))
    caller = fresh.call("13800000011", digits="1", hold_ms=3000, speak=True)
    assert caller.wait(timeout=60) == 0, caller.errors() + caller.output()
    rec = fresh.record("13800000011")
    assert (rec["outcome"], rec["agent_id"], rec["source"]) == ("answered", "2002", "controller")
    fresh.assert_recorded(rec, seconds=2)


def test_controller_on_postgresql_stores_the_call_there(fresh: Hotline) -> None:
    import uuid

    import psycopg

    from hotline.store.calls import CallStore, make_engine

    name = f"hl_itest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1/test", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"postgresql://postgres@127.0.0.1/{name}"
    fresh.stop_controller()
    try:
        fresh.start_controller(db_url=url)
        fresh.agent_phone("2002")
        fresh.desk("log_in", "2002")
        caller = fresh.call("13800000020", digits="1", hold_ms=3000)
        assert caller.wait(timeout=60) == 0, caller.errors()
        store = CallStore(make_engine(url))
        rec = fresh.wait_for(lambda: next((r for r in store.recent(5) if r["caller"] == "13800000020"), None),
                             20, "no record in PostgreSQL:\n" + fresh.controller_log())
        assert (rec["outcome"], rec["agent_id"]) == ("answered", "2002")
        assert [e["kind"] for e in store.events(rec["call_id"])][:2] == ["arrived", "queued"]
        store.engine.dispose()
    finally:
        fresh.stop_controller()
        fresh.start_controller()
        with psycopg.connect("postgresql://postgres@127.0.0.1/test", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_lost_redis_sends_calls_to_the_fallback_and_loses_no_record(fresh: Hotline) -> None:
    import shutil
    import subprocess
    import tempfile

    from tests.integration.harness import BASE

    port = BASE + 79
    data = tempfile.mkdtemp(prefix="hl-redis-")
    redis_server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                                     "--bind", "127.0.0.1", "--save", "", "--dir", data],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for agent in AGENTS:
        fresh.agent_phone(agent["id"])
    fresh.stop_controller()
    try:
        on_private = fresh.settings.with_overrides(redis_url=f"redis://127.0.0.1:{port}/0")
        fresh.start_controller(redis_url=on_private.redis_url)
        # agents on shift before the outage: the leader unpauses their seats in app_queue's
        # fallback queue (a logged-out seat stays paused there, so no empty desk rings)
        for agent in AGENTS:
            asyncio.run(_desk_action(on_private, "log_in", agent["id"]))
        fresh.wait_for(lambda: not any(_fallback_members(fresh).get(a["id"], True) for a in AGENTS), 15,
                       "the fallback queue never unpaused the agents on shift")
        redis_server.terminate()
        redis_server.wait(timeout=10)
        caller = fresh.call("13800000021", digits="1", hold_ms=4000, speak=True)
        assert caller.wait(timeout=90) == 0, caller.errors()
        log = fresh.controller_log(tail=200_000)
        log = log[log.rindex("FastAGI listening"):]  # this controller's run only
        assert "the dialplan fallback takes the call" in log, log[-3000:]
        assert log.count("Redis unavailable") == 1, log[-3000:]  # said once, not every tick
    finally:
        redis_server.kill()
        fresh.stop_controller()
        fresh.start_controller()  # back on the shared Redis: reconciles the fallback call
    rec = fresh.record("13800000021", timeout=30)
    assert (rec["source"], rec["outcome"]) == ("fallback", "answered")
    assert rec["agent_id"] in {a["id"] for a in AGENTS}
    fresh.assert_recorded(rec, seconds=2)  # by app_queue, from the member's answer
