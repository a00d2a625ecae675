"""The hotline keeps serving citizens when the controller or Asterisk goes away."""
from __future__ import annotations

import pytest

from hotline.asterisk import process as asterisk_process
from tests.integration.harness import AGENTS, Hotline

pytestmark = pytest.mark.asterisk


def test_fallback_queue_serves_calls_while_controller_is_down(fresh: Hotline) -> None:
    for agent in AGENTS:
        fresh.agent_phone(agent["id"])
    fresh.stop_controller()
    try:
        caller = fresh.call("13800000010", digits="", hold_ms=5000, speak=True)
        assert caller.wait(timeout=90) == 0, caller.errors() + caller.output()
    finally:
        fresh.start_controller()
    rec = fresh.record("13800000010", timeout=30)
    assert rec["source"] == "fallback"
    assert rec["outcome"] == "answered"
    assert rec["agent_id"] in {a["id"] for a in AGENTS}
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
        fresh.start_controller(redis_url=f"redis://127.0.0.1:{port}/0")
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
